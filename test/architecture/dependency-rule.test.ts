import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const root = new URL("../..", import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [
    ...text.matchAll(/(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g),
  ].map((match) => match[1] ?? match[2] ?? "");
}

describe("the domain stays pure", () => {
  const files = sourceFiles(join(root, "domain"));

  it("finds the domain's source files", () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it("imports neither the AWS SDK, middy, Powertools nor functions/ or infra/", () => {
    const offending = files.flatMap((file) =>
      importsOf(file)
        .filter((spec) =>
          /^@aws-sdk\/|^@middy\/|^@aws-lambda-powertools\/|(^|\/)functions\/|(^|\/)infra\//.test(spec),
        )
        .map((spec) => `${relative(root, file)} imports ${spec}`),
    );
    expect(offending).toEqual([]);
  });

  it("never reads process.env", () => {
    const offending = files
      .filter((file) => readFileSync(file, "utf8").includes("process.env"))
      .map((file) => relative(root, file));
    expect(offending).toEqual([]);
  });
});
