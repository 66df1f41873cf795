import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = new URL("../..", import.meta.url).pathname;

/** The longest a function may be outside the tests, first line to closing brace. */
const MAX_LINES = 60;

/**
 * The tracked sources outside test/: what git lists, so build output, coverage and installed
 * packages never count.
 */
function trackedSources(): string[] {
  return execFileSync("git", ["ls-files", "-z", "--", "*.ts", "*.mjs", "*.js"], {
    cwd: root,
    encoding: "utf8",
  })
    .split("\0")
    .filter((path) => path !== "" && !path.startsWith("test/") && !path.split("/").includes("node_modules"));
}

/** A node that has a body of its own: every kind of function, method, constructor and accessor. */
function isFunctionWithBody(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return (
    (ts.isFunctionDeclaration(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isConstructorDeclaration(node) ||
      ts.isGetAccessorDeclaration(node) ||
      ts.isSetAccessorDeclaration(node) ||
      ts.isFunctionExpression(node) ||
      ts.isArrowFunction(node)) &&
    node.body !== undefined
  );
}

/**
 * Every function of the source over the limit, as `file:line (N lines)`. A nested function counts
 * in its parent's lines and is measured on its own as well.
 */
function longFunctions(path: string, text: string, maxLines = MAX_LINES): string[] {
  // Neither parent links nor JSDoc are needed to measure: without them the parse takes half the time.
  const source = ts.createSourceFile(
    path,
    text,
    { languageVersion: ts.ScriptTarget.Latest, jsDocParsingMode: ts.JSDocParsingMode.ParseNone },
    false,
  );
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (isFunctionWithBody(node)) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line + 1;
      const lines = last - first + 1;
      if (lines > maxLines) found.push(`${path}:${first} (${lines} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe("functions stay short", () => {
  const files = trackedSources();

  it("finds the tracked sources of every folder", () => {
    expect(files.length).toBeGreaterThan(100);
    for (const folder of ["domain/", "functions/", "connectors/", "infra/", "cli/"])
      expect(files.some((path) => path.startsWith(folder))).toBe(true);
    expect(files.some((path) => path.startsWith("test/"))).toBe(false);
  });

  it("measures each kind of function from its first line to its closing brace", () => {
    const body = (lines: number) =>
      Array.from({ length: lines - 2 }, (_, i) => `  const v${i} = ${i};`).join("\n");
    const text = [
      `export async function declared() {\n${body(61)}\n}`,
      `class Resource {\n  constructor() {\n${body(61)}\n  }\n  get value() {\n${body(60)}\n  }\n  method() {\n${body(62)}\n  }\n}`,
      `const arrow = () => {\n${body(61)}\n};`,
      `const expression = function () {\n${body(61)}\n};`,
      `function outer() {\n  const inner = () => {\n${body(59)}\n  };\n}`,
    ].join("\n");
    expect(longFunctions("sample.ts", text)).toEqual([
      "sample.ts:1 (61 lines)",
      "sample.ts:63 (61 lines)",
      "sample.ts:184 (62 lines)",
      "sample.ts:247 (61 lines)",
      "sample.ts:308 (61 lines)",
      "sample.ts:369 (61 lines)",
    ]);
  });

  it(`has no function over ${MAX_LINES} lines outside the tests`, () => {
    const offending = files.flatMap((path) => longFunctions(path, readFileSync(join(root, path), "utf8")));
    expect(offending).toEqual([]);
  });
});
