import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The README as a newcomer runs it: its fenced shell blocks, top to bottom, in a fresh clone of
 * the current commit, with `npm start` in the background — then those of the docs files that hold
 * what the README used to (the API, deploying), against the same server; then the tree must be as
 * cloned and the test command's checks must pass.
 *
 * What differs from a newcomer, and why:
 * - `npm ci` becomes a hard-linked copy of this checkout's node_modules (installed by `npm ci`
 *   from the same package-lock.json; CI runs `npm ci` first): the same files, without a second
 *   install. `WALKTHROUGH_NPM_CI=1` runs the real `npm ci` in the clone instead.
 * - The server listens on a free port rather than 3000 (the commands' `127.0.0.1:3000` follows it),
 *   so a server already running on this machine does not interfere.
 * - `npm test` runs last, as `npm run lint` and a check that the typecheck reads only tracked
 *   files: the suite itself, and the typecheck beside it, are this very run on the same commit;
 *   what the clone adds is whether the files the examples left behind break the test command (the
 *   lint step checks every file the repository does not ignore).
 * - Commands that need an AWS account are skipped (listed in SKIPPED with the reason); so is
 *   `npx serverless package`, which test/deploy/ runs.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The README first, then the docs files the README links for the commands it no longer shows. */
const DOCUMENTS = ["README.md", "docs/api.md", "docs/deploy.md"];

/** Commands of these documents that are not run here, and why. */
const SKIPPED: Array<{ pattern: RegExp; reason: string }> = [
  { pattern: /^npx serverless deploy\b/, reason: "deploys to an AWS account" },
  { pattern: /^npx serverless package\b/, reason: "test/deploy/ runs it and checks its output" },
  { pattern: /^aws /, reason: "needs an AWS account" },
  { pattern: /^AWS_REGION=\S+ npx quotesync tenant put\b/, reason: "writes to a deployed table" },
];

interface Block {
  /** The document, and the line of it where the block starts. */
  file: string;
  line: number;
  /** Commands to run, in order, in one shell (continuations and here-documents kept whole). */
  script: string[];
  /** `# {...}` lines: what the commands must print. */
  expected: string[];
  startsServer: boolean;
  runsTests: boolean;
  skipped: Array<{ command: string; reason: string }>;
}

/** A document's ```sh blocks, each split into what to run, what to skip and what it must print. */
function shellBlocks(file: string, markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  for (let index = 0; index < lines.length; index++) {
    if (!/^```(sh|bash|shell)\s*$/.test(lines[index] ?? "")) continue;
    const block: Block = {
      file,
      line: index + 1,
      script: [],
      expected: [],
      startsServer: false,
      runsTests: false,
      skipped: [],
    };
    let command = "";
    let heredoc: string | null = null;
    for (index++; index < lines.length && lines[index] !== "```"; index++) {
      const text = lines[index] ?? "";
      if (heredoc !== null) {
        command += `\n${text}`;
        if (text === heredoc) {
          heredoc = null;
          block.script.push(command);
          command = "";
        }
        continue;
      }
      if (!command && /^#\s*[{[]/.test(text)) {
        block.expected.push(text.replace(/^#\s*/, ""));
        continue;
      }
      const code = text.replace(/\s+#(\s.*)?$/, "").replace(/^#.*$/, "");
      command = command ? `${command}\n${code}` : code;
      if (code.endsWith("\\")) continue;
      const here = /<<-?'?(\w+)'?/.exec(code);
      if (here) {
        heredoc = here[1] as string;
        continue;
      }
      const whole = command.trim();
      command = "";
      if (!whole) continue;
      const skip = SKIPPED.find(({ pattern }) => pattern.test(whole));
      if (skip) block.skipped.push({ command: whole, reason: skip.reason });
      else if (/^npm ci && npm start$/.test(whole)) block.startsServer = true;
      else if (whole === "npm test") block.runsTests = true;
      else block.script.push(whole);
    }
    blocks.push(block);
  }
  return blocks;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

function run(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      "bash",
      ["-euo", "pipefail", "-c", script],
      { cwd, env, encoding: "utf8", timeout: 180_000, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) || 1 : 0, out: `${stdout}${stderr}` }),
    );
  });
}

let clone: string;
let server: ChildProcess | undefined;
let serverOutput = "";
const env: NodeJS.ProcessEnv = { ...process.env };
let blocks: Block[] = [];

beforeAll(async () => {
  clone = mkdtempSync(join(tmpdir(), "quotesync-readme-"));
  const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  execFileSync("git", ["clone", "--quiet", "--no-checkout", ROOT, clone]);
  execFileSync("git", ["checkout", "--quiet", "--detach", commit], { cwd: clone });
  blocks = DOCUMENTS.flatMap((file) => shellBlocks(file, readFileSync(join(clone, file), "utf8")));
  const port = await freePort();
  env.PORT = String(port);
  for (const block of blocks) {
    block.script = block.script.map((command) => command.replaceAll("127.0.0.1:3000", `127.0.0.1:${port}`));
  }
}, 60_000);

afterAll(async () => {
  if (server?.pid && server.exitCode === null) {
    const exited = new Promise((resolve) => server?.once("exit", resolve));
    process.kill(-server.pid, "SIGINT");
    await exited;
  }
  if (clone) rmSync(clone, { recursive: true, force: true });
});

describe("README, run top to bottom in a fresh clone", () => {
  it("has shell blocks to run, one of the README's starting the server and one running the tests", () => {
    const readme = blocks.filter((block) => block.file === "README.md");
    expect(readme.filter((block) => block.startsServer)).toHaveLength(1);
    expect(readme.filter((block) => block.runsTests)).toHaveLength(1);
    expect(blocks.filter((block) => block.startsServer || block.runsTests)).toHaveLength(2);
    expect(blocks.flatMap((block) => block.script).length).toBeGreaterThan(2);
  });

  it("runs every block in order and gets the answers it shows", async () => {
    for (const block of blocks) {
      if (block.startsServer) {
        const install = process.env.WALKTHROUGH_NPM_CI
          ? await run("npm ci --no-audit --no-fund", clone, env)
          : await run(
              // Hard links where the clone shares the checkout's file system, a copy where it does not.
              `cp -al ${JSON.stringify(join(ROOT, "node_modules"))} node_modules 2>/dev/null || cp -a ${JSON.stringify(join(ROOT, "node_modules"))} node_modules`,
              clone,
              env,
            );
        expect(install.code, install.out).toBe(0);
        server = spawn("npm", ["start"], {
          cwd: clone,
          env,
          detached: true,
          stdio: ["ignore", "pipe", "pipe"],
        });
        server.stdout?.on("data", (chunk) => {
          serverOutput += chunk;
        });
        server.stderr?.on("data", (chunk) => {
          serverOutput += chunk;
        });
        for (;;) {
          if (server.exitCode !== null) throw new Error(`npm start exited:\n${serverOutput}`);
          const ready = await fetch(`http://127.0.0.1:${env.PORT}/health`).then(
            (response) => response.ok,
            () => false,
          );
          if (ready) break;
          await sleep(200);
        }
      }
      if (block.script.length === 0) continue;
      const script = block.script.join("\n");
      const result = await run(script, clone, env);
      expect(result.code, `${block.file} line ${block.line}:\n${script}\n${result.out}`).toBe(0);
      for (const expected of block.expected) {
        expect(result.out, `${block.file} line ${block.line}:\n${script}`).toContain(expected);
      }
    }
  }, 300_000);

  it("leaves the clone exactly as it was checked out", () => {
    const status = execFileSync("git", ["status", "--porcelain", "--untracked-files=all"], {
      cwd: clone,
      encoding: "utf8",
    });
    expect(status).toBe("");
  });

  it("passes the test command's checks in the clone: the typecheck reads only tracked files, the lint passes", async () => {
    // The typecheck of this very commit runs beside the suite (`npm test`); what the clone can add
    // is a file the examples left behind (ignored by git, so not in `git status`) that the
    // typecheck would read. Listing what it reads costs a fifth of checking it again.
    const listed = await run("npx tsc --listFilesOnly", clone, env);
    expect(listed.code, listed.out).toBe(0);
    const tracked = new Set(
      execFileSync("git", ["ls-files"], { cwd: clone, encoding: "utf8" }).split("\n").filter(Boolean),
    );
    const read = listed.out
      .split("\n")
      .filter(Boolean)
      .map((file) => relative(realpathSync(clone), realpathSync(file.trim())).replaceAll("\\", "/"))
      .filter((file) => !file.startsWith("node_modules/") && !file.startsWith("../"));
    expect(read.length).toBeGreaterThan(100);
    expect(read.filter((file) => !tracked.has(file))).toEqual([]);
    const lint = await run("npm run lint", clone, env);
    expect(lint.code, lint.out).toBe(0);
  }, 180_000);
});
