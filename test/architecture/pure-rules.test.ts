import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = new URL("../..", import.meta.url).pathname;
const engineDir = join(root, "domain/engine");
const storePort = join(root, "domain/store.ts");

/**
 * The engine's modules that do I/O: the one that runs a decision (load → decide → commit), the
 * one that reads a decision's snapshot, and the scheduled function's and status's walks over the
 * store. Every other module under domain/engine/ holds rules: synchronous and pure, they see a
 * snapshot and a change and return a decision.
 */
const ORCHESTRATION = new Set([
  "decision.ts",
  "load.ts",
  "sync-engine.ts",
  "scheduled-run.ts",
  "drift-report.ts",
  "status.ts",
]);

const engineFiles = readdirSync(engineDir).filter((name) => name.endsWith(".ts"));
const ruleFiles = engineFiles.filter((name) => !ORCHESTRATION.has(name));

function parse(name: string): ts.SourceFile {
  const path = join(engineDir, name);
  return ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true);
}

/** Where a rule module reaches for storage or goes asynchronous: one line per finding. */
function violations(source: ts.SourceFile): string[] {
  const found: string[] = [];
  const where = (node: ts.Node) =>
    `${relative(root, source.fileName)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      const target = resolve(engineDir, node.moduleSpecifier.text).replace(/\.js$/, ".ts");
      if (target === storePort) found.push(`${where(node)} imports the store port`);
      const module = node.moduleSpecifier.text.replace(/^\.\//, "");
      if (ORCHESTRATION.has(module.replace(/\.js$/, ".ts")))
        found.push(`${where(node)} imports the orchestrating module ${module}`);
    }
    if (ts.isFunctionLike(node)) {
      const modifiers = ts.canHaveModifiers(node) ? (ts.getModifiers(node) ?? []) : [];
      if (modifiers.some((modifier) => modifier.kind === ts.SyntaxKind.AsyncKeyword))
        found.push(`${where(node)} declares an async function`);
      if (node.type && /\bPromise\b|\bPromiseLike\b/.test(node.type.getText(source)))
        found.push(`${where(node)} returns a promise`);
      for (const parameter of node.parameters) {
        if (parameter.type && /\bSyncStore\b|\bPendingCommit\b/.test(parameter.type.getText(source)))
          found.push(`${where(parameter)} takes the store`);
      }
    }
    if (ts.isAwaitExpression(node)) found.push(`${where(node)} awaits`);
    if (ts.isIdentifier(node) && node.text === "Promise") found.push(`${where(node)} names Promise`);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe("the engine's rules are synchronous and pure", () => {
  it("knows every orchestrating module it exempts", () => {
    expect([...ORCHESTRATION].filter((name) => !engineFiles.includes(name))).toEqual([]);
  });

  it("finds the rule modules", () => {
    expect(ruleFiles).toEqual(
      expect.arrayContaining(["line-events.ts", "header-events.ts", "start-stop.ts", "scheduled-push.ts"]),
    );
  });

  it("no rule module imports the store port or an orchestrating module, takes the store, or returns a promise", () => {
    expect(ruleFiles.flatMap((name) => violations(parse(name)))).toEqual([]);
  });

  it("would catch a rule that reaches into storage", () => {
    const offending = ts.createSourceFile(
      join(engineDir, "offending.ts"),
      [
        'import type { SyncStore } from "../store.js";',
        "export async function decide(store: SyncStore): Promise<void> {",
        "  await store.loadTenant('t');",
        "}",
      ].join("\n"),
      ts.ScriptTarget.Latest,
      true,
    );
    const found = violations(offending);
    expect(found.some((line) => line.includes("imports the store port"))).toBe(true);
    expect(found.some((line) => line.includes("declares an async function"))).toBe(true);
    expect(found.some((line) => line.includes("returns a promise"))).toBe(true);
    expect(found.some((line) => line.includes("takes the store"))).toBe(true);
    expect(found.some((line) => line.includes("awaits"))).toBe(true);
  });
});
