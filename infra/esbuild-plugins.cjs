// esbuild plugins for the Lambda bundles (serverless.yml `custom.esbuild.plugins`, and the
// benchmark). zod exposes every locale through a namespace export, which defeats tree shaking
// (~250 KB of messages in other languages); quotesync answers in English only.
const path = require("node:path");

const zodEnglishOnly = {
  name: "zod-english-only",
  setup(build) {
    build.onResolve({ filter: /[\\/]locales[\\/]index\.js$|^\.\.\/locales\/index\.js$/ }, (args) => {
      if (!args.importer.includes(`${path.sep}zod${path.sep}`)) return undefined;
      return { path: path.join(__dirname, "zod-locales.mjs") };
    });
  },
};

module.exports = [zodEnglishOnly];
