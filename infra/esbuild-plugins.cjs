// esbuild plugins for the Lambda bundles (serverless.yml `custom.esbuild.plugins`, and the
// benchmark). The default export is what the deployed bundles use; `runtimeSdk` is kept for the
// benchmark's comparison with bundles that leave the AWS SDK to the Lambda runtime (docs/deploy.md).
const path = require("node:path");

// zod exposes every locale through a namespace export, which defeats tree shaking (~250 KB of
// messages in other languages); quotesync answers in English only.
const zodEnglishOnly = {
  name: "zod-english-only",
  setup(build) {
    build.onResolve({ filter: /[\\/]locales[\\/]index\.js$|^\.\.\/locales\/index\.js$/ }, (args) => {
      if (!args.importer.includes(`${path.sep}zod${path.sep}`)) return undefined;
      return { path: path.join(__dirname, "zod-locales.mjs") };
    });
  },
};

// Only for bundles that leave the AWS SDK to the runtime (the benchmark's comparison; the deployed
// bundles include it). The runtime's SDK is CommonJS. An ESM bundle's
// `import ... from "@aws-sdk/..."` makes node load it through its ESM loader: it scans the
// package's entry file (~180 KB for DynamoDB) for its export names and wraps it as a module, at
// every cold start. `require()` (the banner's, see serverless.yml) loads the very same module without
// that. Each SDK package the code imports becomes a small CommonJS module of the bundle that
// requires it: esbuild evaluates it where the import was, so a dynamic `import()` stays lazy.
const AWS_SDK_REQUIRE = "aws-sdk-require";
const awsSdkRequire = {
  name: "aws-sdk-require",
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\// }, (args) =>
      args.namespace === AWS_SDK_REQUIRE || args.kind === "require-call"
        ? { path: args.path, external: true }
        : { path: args.path, namespace: AWS_SDK_REQUIRE },
    );
    build.onLoad({ filter: /.*/, namespace: AWS_SDK_REQUIRE }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: "js",
    }));
  },
};

module.exports = [zodEnglishOnly];
module.exports.awsSdkRequire = awsSdkRequire;
