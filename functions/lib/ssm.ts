// The two parts of the SSM client quotesync uses, imported by name so that the bundles keep only
// these (an `import()` of the package itself would bundle every SSM command). Loaded through
// `import()` by tenant-secrets.ts, so a cold start does not evaluate it.
export { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
