import type { Plugin } from "esbuild";

/** The plugins of the deployed bundles; `awsSdkRequire` keeps the AWS SDK out, loaded with `require()`. */
declare const plugins: Plugin[] & { awsSdkRequire: Plugin };
export = plugins;
