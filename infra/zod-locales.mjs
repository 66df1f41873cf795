// Stands in for zod's locales index in the Lambda bundles (see esbuild-plugins.cjs).
export { default as en } from "zod/v4/locales/en.js";
