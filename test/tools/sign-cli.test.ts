import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifySignature } from "../../functions/lib/signature.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TIMEOUT = 60_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool synchronously (`node --import tsx tools/<tool>.ts ...`), capturing the exit code instead of throwing. */
function runSync(tool: string, args: string[], input?: string | Buffer): Run {
  try {
    const stdout = execFileSync(process.execPath, ["--import", "tsx", `tools/${tool}.ts`, ...args], {
      cwd: ROOT,
      input: input ?? "",
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
    });
    return { code: 0, stdout, stderr: "" };
  } catch (error) {
    const e = error as { status: number | null; stdout: string; stderr: string };
    return { code: e.status ?? -1, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Runs a tool without blocking the event loop (needed when the test itself serves the request). */
function runAsync(tool: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", `tools/${tool}.ts`, ...args],
      { cwd: ROOT, encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const now = () => Math.floor(Date.now() / 1000);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "quotesync-sign-cli-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("tools/sign.ts", () => {
  it(
    "prints a header that verifies against the exact bytes of --body-file",
    () => {
      // Pretty-printed with a trailing newline, as an editor saves it: those bytes are what curl --data-binary sends.
      const bytes = Buffer.from(
        `${JSON.stringify({ eventId: "e-1", type: "quote.upserted", name: "Café" }, null, 2)}\n`,
      );
      const file = join(dir, "event.json");
      writeFileSync(file, bytes);
      const run = runSync("sign", [
        "--secret",
        "demo-crm-secret",
        "--method",
        "POST",
        "--path",
        "/webhooks/crm/demo",
        "--body-file",
        file,
      ]);
      expect(run).toMatchObject({ code: 0, stderr: "" });
      expect(run.stdout).toMatch(/^t=\d+,v1=[0-9a-f]{64}\n$/);
      const header = run.stdout.trim();
      const base = {
        header,
        secrets: ["demo-crm-secret"],
        method: "POST",
        pathWithQuery: "/webhooks/crm/demo",
        nowSeconds: now(),
      };
      expect(verifySignature({ ...base, rawBody: bytes })).toEqual({ ok: true });
      expect(verifySignature({ ...base, rawBody: bytes.toString("utf8") })).toEqual({ ok: true });
      // What `curl -d @event.json` would send (newlines stripped) does not verify.
      expect(verifySignature({ ...base, rawBody: bytes.toString("utf8").replace(/\n/g, "") })).toEqual({
        ok: false,
        reason: "mismatch",
      });
    },
    TIMEOUT,
  );

  it(
    "reproduces the known-answer vector with --body and --timestamp",
    () => {
      const run = runSync("sign", [
        "--secret",
        "demo-crm-secret",
        "--path",
        "/webhooks/crm/demo",
        "--body",
        "{}",
        "--timestamp",
        "1700000000",
      ]);
      expect(run).toEqual({
        code: 0,
        stdout: "t=1700000000,v1=adcb4fe7f2f39a3e476cb12f0a071b9e85f481461f81795716d1b5886a4bdba5\n",
        stderr: "",
      });
    },
    TIMEOUT,
  );

  it(
    "reads the body from stdin with --body-file -",
    () => {
      const body = '{"name":"Caf\u00e9 M\u00fcller \u2013 \u6771\u4eac \u{1F600}"}';
      const run = runSync(
        "sign",
        ["--secret", "demo-cpq-secret", "--path", "/webhooks/cpq/demo", "--body-file", "-"],
        Buffer.from(body),
      );
      expect(run.code).toBe(0);
      expect(
        verifySignature({
          header: run.stdout.trim(),
          secrets: ["demo-cpq-secret"],
          method: "POST",
          pathWithQuery: "/webhooks/cpq/demo",
          rawBody: body,
          nowSeconds: now(),
        }),
      ).toEqual({ ok: true });
    },
    TIMEOUT,
  );

  it(
    "signs a GET with a query string and an empty body",
    () => {
      const path = "/sync/demo/outbox?after=c-1&limit=10";
      const run = runSync("sign", ["--secret", "demo-cpq-secret", "--method", "get", "--path", path]);
      expect(run.code).toBe(0);
      const base = {
        header: run.stdout.trim(),
        secrets: ["demo-cpq-secret"],
        rawBody: "",
        nowSeconds: now(),
      };
      expect(verifySignature({ ...base, method: "GET", pathWithQuery: path })).toEqual({ ok: true });
      expect(verifySignature({ ...base, method: "GET", pathWithQuery: "/sync/demo/outbox" })).toEqual({
        ok: false,
        reason: "mismatch",
      });
    },
    TIMEOUT,
  );

  it(
    "prints usage on --help",
    () => {
      const run = runSync("sign", ["--help"]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("Usage: npx tsx tools/sign.ts");
      expect(run.stdout).toContain("--data-binary @event.json");
    },
    TIMEOUT,
  );

  it.each([
    ["no secret", ["--path", "/webhooks/crm/demo"]],
    ["no path", ["--secret", "s"]],
    ["a URL as path", ["--secret", "s", "--path", "http://127.0.0.1:3000/webhooks/crm/demo"]],
    ["an unknown option", ["--secret", "s", "--path", "/x", "--data", "{}"]],
    ["a positional argument", ["--secret", "s", "--path", "/x", "event.json"]],
    [
      "both --body and --body-file",
      ["--secret", "s", "--path", "/x", "--body", "{}", "--body-file", "event.json"],
    ],
    ["a GET with a body", ["--secret", "s", "--path", "/x", "--method", "GET", "--body", "{}"]],
    ["an unreadable body file", ["--secret", "s", "--path", "/x", "--body-file", "/nonexistent/event.json"]],
    ["a bad timestamp", ["--secret", "s", "--path", "/x", "--timestamp", "soon"]],
  ])(
    "exits 2 with a one-line reason on %s",
    (_name, args) => {
      const run = runSync("sign", args);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr).toMatch(/^sign: [^\n]+\n$/);
    },
    TIMEOUT,
  );
});

describe("tools/send.ts", () => {
  interface Received {
    method: string;
    url: string;
    signature: string | undefined;
    contentType: string | undefined;
    body: Buffer;
  }
  const received: Received[] = [];
  let server: Server;
  let baseUrl: string;

  const readAll = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const body = await readAll(req);
      const signature = req.headers["x-quotesync-signature"];
      const entry: Received = {
        method: req.method ?? "",
        url: req.url ?? "",
        signature: typeof signature === "string" ? signature : undefined,
        contentType: req.headers["content-type"],
        body,
      };
      received.push(entry);
      // Verify the way the Lambda will: the path and query exactly as received, the raw body bytes.
      const result = verifySignature({
        header: entry.signature,
        secrets: ["demo-cpq-secret"],
        method: entry.method,
        pathWithQuery: entry.url,
        rawBody: body,
        nowSeconds: now(),
      });
      if (!result.ok) {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "invalid_signature", message: result.reason } }));
        return;
      }
      res.writeHead(200, {
        "content-type": "application/json",
        "x-quotesync-replayed": "true",
        "x-other": "hidden",
      });
      res.end(JSON.stringify({ status: "applied", mirrors: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it(
    "signs and POSTs the file byte for byte and prints status, x-quotesync headers and pretty JSON",
    async () => {
      const bytes = Buffer.from('{"eventId":"e-2","type":"cart.finalized","data":{"quoteId":"q-1"}}\n');
      const file = join(dir, "cart.json");
      writeFileSync(file, bytes);
      const run = await runAsync("send", [
        "--url",
        baseUrl,
        "--path",
        "/webhooks/cpq/demo",
        "--secret",
        "demo-cpq-secret",
        "--file",
        file,
      ]);
      expect(run.code).toBe(0);
      expect(run.stderr).toContain("HTTP 200");
      expect(run.stderr).toContain("x-quotesync-replayed: true");
      expect(run.stderr).not.toContain("x-other");
      expect(run.stdout).toBe(`${JSON.stringify({ status: "applied", mirrors: [] }, null, 2)}\n`);
      const last = received.at(-1);
      expect(last?.method).toBe("POST");
      expect(last?.url).toBe("/webhooks/cpq/demo");
      expect(last?.contentType).toBe("application/json");
      expect(last?.body.equals(bytes)).toBe(true);
    },
    TIMEOUT,
  );

  it(
    "sends a signed GET with a query string and no body, keeping (and signing) a path prefix of --url",
    async () => {
      const run = await runAsync("send", [
        "--url",
        `${baseUrl}/prod/`,
        "--method",
        "GET",
        "--path",
        "/sync/demo/outbox?after=c-1&limit=10",
        "--secret",
        "demo-cpq-secret",
      ]);
      expect(run.code).toBe(0);
      const last = received.at(-1);
      expect(last?.method).toBe("GET");
      expect(last?.url).toBe("/prod/sync/demo/outbox?after=c-1&limit=10");
      expect(last?.body.length).toBe(0);
    },
    TIMEOUT,
  );

  it(
    "exits 1 on a non-2xx answer and still prints the body",
    async () => {
      const run = await runAsync("send", [
        "--url",
        baseUrl,
        "--path",
        "/webhooks/cpq/demo",
        "--secret",
        "wrong-secret",
        "--method",
        "GET",
      ]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("HTTP 401");
      expect(JSON.parse(run.stdout)).toEqual({ error: { code: "invalid_signature", message: "mismatch" } });
    },
    TIMEOUT,
  );

  it(
    "exits 1 with a reason when the server cannot be reached",
    async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      const run = await runAsync("send", [
        "--url",
        `http://127.0.0.1:${port}`,
        "--path",
        "/webhooks/cpq/demo",
        "--secret",
        "s",
        "--method",
        "GET",
      ]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^send: cannot reach/);
    },
    TIMEOUT,
  );

  it.each([
    ["no url", ["--path", "/x", "--secret", "s"]],
    ["a bad url", ["--url", "127.0.0.1:3000", "--path", "/x", "--secret", "s"]],
    [
      "a GET with a file",
      ["--url", "http://127.0.0.1:1", "--path", "/x", "--secret", "s", "--method", "GET", "--file", "a.json"],
    ],
    [
      "an unsupported method",
      ["--url", "http://127.0.0.1:1", "--path", "/x", "--secret", "s", "--method", "PUT"],
    ],
  ])(
    "exits 2 with a one-line reason on %s",
    async (_name, args) => {
      const run = await runAsync("send", args);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^send: [^\n]+\n$/);
    },
    TIMEOUT,
  );
});
