/**
 * `npm run openapi`: regenerates `openapi.json` from the zod schemas. `--check` only compares and
 * exits 1 when the committed file is stale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildOpenApiDocument } from "./openapi-document.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const target = `${root}openapi.json`;

/** The document as committed: pretty JSON with a trailing newline. */
export function renderOpenApi(): string {
  const { version } = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as { version: string };
  return `${JSON.stringify(buildOpenApiDocument({ version, examplesDir: `${root}examples` }), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rendered = renderOpenApi();
  if (process.argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(target, "utf8");
    } catch {
      // missing: stale
    }
    if (current !== rendered) {
      console.error("openapi.json is stale: run npm run openapi");
      process.exit(1);
    }
    console.log("openapi.json is up to date");
  } else {
    writeFileSync(target, rendered);
    console.log("wrote openapi.json");
  }
}
