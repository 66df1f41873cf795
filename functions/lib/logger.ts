import { Logger } from "@aws-lambda-powertools/logger";

const LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "SILENT"] as const;
type LevelName = (typeof LEVELS)[number];

/**
 * The log level from configuration: POWERTOOLS_LOG_LEVEL (set per stage in serverless.yml), else
 * LOG_LEVEL, else INFO. An unknown value falls back to INFO rather than failing the cold start.
 */
export function logLevelFrom(env: NodeJS.ProcessEnv): LevelName {
  const wanted = (env.POWERTOOLS_LOG_LEVEL ?? env.LOG_LEVEL ?? "INFO").toUpperCase();
  return (LEVELS as readonly string[]).includes(wanted) ? (wanted as LevelName) : "INFO";
}

/** The functions' structured logger: one JSON object per line on stdout. */
export const logger = new Logger({ serviceName: "quotesync", logLevel: logLevelFrom(process.env) });
