// Imported first by bench/run.ts: Powertools reads these when the handlers' modules load, which is
// before any of the benchmark's own code runs. The benchmark measures the sync, not stdout: the
// functions' request log lines and EMF metrics are silenced (see BENCHMARKS.md).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
