import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../cli/main.js";
import { verifySignature } from "../../functions/lib/signature.js";
import { createLocalHttpServer } from "../../local/http-adapter.js";
import { localRoutes } from "../../local/routes.js";
import { dynamoEndpoint } from "../support/dynamo.js";
import { DEMO_SECRETS, handlerHarness } from "../support/handlers.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Runs the CLI in-process with captured output. */
async function cli(argv: string[], stdin = "", env: NodeJS.ProcessEnv = {}) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    stdin: async () => Buffer.from(stdin),
    env,
  });
  return { code, stdout, stderr };
}

let dir: string;
let h: Awaited<ReturnType<typeof handlerHarness>>;
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "quotesync-cli-"));
  h = await handlerHarness();
  // The real handlers behind the local HTTP adapter, on the harness's fresh table.
  server = createLocalHttpServer({ routes: localRoutes });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await h.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe("quotesync (the command)", () => {
  it("prints its commands on --help and exits 2 with a one-line reason on an unknown command", async () => {
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    for (const command of ["sign", "send", "tenant put", "replay"]) expect(help.stdout).toContain(command);
    const unknown = await cli(["launch"]);
    expect(unknown).toMatchObject({ code: 2, stdout: "" });
    expect(unknown.stderr).toMatch(/^quotesync: unknown command [^\n]+\n$/);
    // Every command has its --help, `tenant` (whose one subcommand is `put`) included.
    for (const argv of [["sign"], ["send"], ["replay"], ["tenant", "put"], ["tenant"]]) {
      const commandHelp = await cli([...argv, "--help"]);
      expect(commandHelp.code).toBe(0);
      expect(commandHelp.stdout).toMatch(/--/);
    }
  });

  it("runs through the package bin (node cli/quotesync.mjs)", () => {
    const out = execFileSync(process.execPath, ["cli/quotesync.mjs", "sign", "--help"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(out).toContain("Usage: npx quotesync sign");
  });
});

describe("quotesync sign", () => {
  it("reproduces the known-answer signature", async () => {
    const run = await cli([
      "sign",
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
  });

  it("signs the exact bytes read from stdin", async () => {
    const body = '{"name":"Café"}\n';
    const run = await cli(
      ["sign", "--secret", "demo-cpq-secret", "--path", "/webhooks/cpq/demo", "--body-file", "-"],
      body,
    );
    const verdict = verifySignature({
      header: run.stdout.trim(),
      secrets: ["demo-cpq-secret"],
      method: "POST",
      pathWithQuery: "/webhooks/cpq/demo",
      rawBody: body,
      nowSeconds: Math.floor(Date.now() / 1000),
    });
    expect(verdict).toEqual({ ok: true });
  });

  it("exits 2 with a one-line reason on bad usage", async () => {
    const run = await cli(["sign", "--path", "/x"]);
    expect(run).toEqual({
      code: 2,
      stdout: "",
      stderr: "sign: --secret is required (or --secret-file, or QUOTESYNC_SECRET) (see --help)\n",
    });
  });
});

describe("quotesync send", () => {
  it("signs and posts an example event to the real handlers and prints the answer", async () => {
    const run = await cli([
      "send",
      "--url",
      baseUrl,
      "--path",
      "/webhooks/crm/demo",
      "--secret",
      DEMO_SECRETS.crm,
      "--file",
      join(ROOT, "examples/crm/opportunity.upserted.json"),
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("HTTP 200");
    expect(JSON.parse(run.stdout)).toMatchObject({ status: "not_synced", mirrors: [] });
  });

  it("exits 1 and prints the error body when the server refuses the request", async () => {
    const run = await cli(
      ["send", "--url", baseUrl, "--path", "/webhooks/crm/demo", "--secret", "wrong-secret", "--file", "-"],
      "{}",
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("HTTP 401");
    expect(JSON.parse(run.stdout).error.code).toBe("invalid_signature");
  });

  it("exits 2 on a bad --url", async () => {
    const run = await cli(["send", "--url", "ftp://127.0.0.1:3000", "--path", "/x", "--secret", "s"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^send: --url must be http or https[^\n]+\n$/);
  });
});

describe("quotesync tenant put", () => {
  const endpoint = () => dynamoEndpoint();

  it("validates a tenant file and registers it in the table, printing it with masked secrets", async () => {
    const run = await cli([
      "tenant",
      "put",
      "--file",
      join(ROOT, "examples/tenant.json"),
      "--table",
      h.table.tableName,
      "--endpoint",
      endpoint(),
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain("replace-with-a-long-random");
    expect(JSON.parse(run.stdout).secrets).toEqual({ crm: ["********"], cpq: ["********"] });
    const stored = await h.store.loadTenant("acme");
    expect(stored?.secrets.crm).toEqual(["replace-with-a-long-random-crm-secret"]);
    expect(stored?.approvals.maxDiscountPercent).toBe("20");
  });

  it("refuses an invalid tenant with the failing path and writes nothing", async () => {
    const file = join(dir, "bad-tenant.json");
    const tenant = JSON.parse(readFileSync(join(ROOT, "examples/tenant.json"), "utf8"));
    writeFileSync(file, JSON.stringify({ ...tenant, tenantId: "Bad Tenant" }));
    const run = await cli([
      "tenant",
      "put",
      "--file",
      file,
      "--table",
      h.table.tableName,
      "--endpoint",
      endpoint(),
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^tenant put: .*bad-tenant\.json is not a valid tenant: tenantId: [^\n]+\n$/);
    expect(await h.store.loadTenant("Bad Tenant")).toBeNull();
  });

  it("registers a webhook delivery, never echoing its secret; a deployed stage refuses inline credentials and takes a credentialsParameter", async () => {
    const tenant = JSON.parse(readFileSync(join(ROOT, "examples/tenant.json"), "utf8"));
    const delivery = { kind: "webhook", url: "https://hooks.example.com/quotesync?x=1" };
    const put = async (name: string, body: unknown, stage: string[] = []) => {
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify(body));
      return cli([
        "tenant",
        "put",
        "--file",
        file,
        "--table",
        h.table.tableName,
        "--endpoint",
        endpoint(),
        ...stage,
      ]);
    };

    const inline = await put("delivery-inline.json", {
      ...tenant,
      tenantId: "delivers-inline",
      connectors: {
        crm: { kind: "native", delivery: { ...delivery, secret: "inline-delivery-secret-0123456789" } },
      },
    });
    expect(inline.code).toBe(0);
    expect(`${inline.stdout}${inline.stderr}`).not.toContain("inline-delivery-secret");
    expect(JSON.parse(inline.stdout).connectors.crm.delivery).toEqual({ ...delivery, secret: "********" });
    expect((await h.store.loadTenant("delivers-inline"))?.connectors.crm).toMatchObject({
      delivery: { secret: "inline-delivery-secret-0123456789" },
    });

    const refused = await put(
      "delivery-deployed-inline.json",
      {
        ...tenant,
        tenantId: "delivers-deployed",
        connectors: {
          crm: { kind: "native", delivery: { ...delivery, secret: "inline-delivery-secret-0123456789" } },
        },
      },
      ["--stage", "prod"],
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("connectors.crm.delivery.secret: outside the local stage");
    expect(refused.stderr).not.toContain("inline-delivery-secret");
    expect(await h.store.loadTenant("delivers-deployed")).toBeNull();

    const noSecret = await put("delivery-no-secret.json", {
      ...tenant,
      tenantId: "delivers-nothing",
      connectors: { crm: { kind: "native", delivery } },
    });
    expect(noSecret.code).toBe(1);
    expect(noSecret.stderr).toContain("connectors.crm.delivery.secret: a webhook delivery needs a secret");

    // A deployed stage keeps the tenant's own secrets in SSM too (docs/security.md).
    const deployedTenant = {
      ...tenant,
      secrets: { crm: [], cpq: [] },
      secretsParameter: "/quotesync/acme/secrets",
    };
    const outsidePrefix = await put(
      "delivery-outside-prefix.json",
      {
        ...deployedTenant,
        tenantId: "delivers-deployed",
        connectors: { crm: { kind: "native", delivery, credentialsParameter: "/other/acme" } },
      },
      ["--stage", "prod"],
    );
    expect(outsidePrefix.code).toBe(1);
    expect(outsidePrefix.stderr).toContain(
      "connectors.crm.credentialsParameter: SSM parameters live under /quotesync/",
    );

    const inSsm = await put(
      "delivery-ssm.json",
      {
        ...deployedTenant,
        tenantId: "delivers-deployed",
        connectors: { crm: { kind: "native", delivery, credentialsParameter: "/quotesync/acme/crm" } },
      },
      ["--stage", "prod"],
    );
    expect(inSsm.code).toBe(0);
    expect((await h.store.loadTenant("delivers-deployed"))?.connectors.crm).toEqual({
      kind: "native",
      delivery,
      credentialsParameter: "/quotesync/acme/crm",
    });
  });

  it("exits 2 without a table", async () => {
    const run = await cli(["tenant", "put", "--file", join(ROOT, "examples/tenant.json")]);
    expect(run).toMatchObject({
      code: 2,
      stderr: "tenant put: --table is required (or set TABLE_NAME) (see --help)\n",
    });
  });
});

describe("quotesync replay", () => {
  it("re-sends JSON lines to each event's webhook, signed with its source's secret; a second run is answered as replayed", async () => {
    const example = (path: string) =>
      readFileSync(join(ROOT, "examples", path), "utf8").replace(/\s*\n\s*/g, "");
    const file = join(dir, "events.jsonl");
    writeFileSync(
      file,
      `${[
        example("crm/opportunity.upserted.json").replace("crm-evt-0001", "replay-crm-1"),
        example("cpq/quote.upserted.json").replace("cpq-evt-0001", "replay-cpq-1"),
        example("cpq/quote.lines.upserted.json").replace("cpq-evt-0003", "replay-cpq-3"),
        example("cpq/cart.finalized.json").replace("cpq-evt-0006", "replay-cpq-6"),
      ].join("\n")}\n`,
    );
    const args = [
      "replay",
      "--url",
      baseUrl,
      "--tenant",
      "demo",
      "--file",
      file,
      "--crm-secret",
      DEMO_SECRETS.crm,
      "--cpq-secret",
      DEMO_SECRETS.cpq,
    ];
    const first = await cli(args);
    expect(first.code).toBe(0);
    // The send test above already stored this opportunity: the replayed upsert may be no news.
    expect(first.stdout.trim().split("\n")).toEqual([
      expect.stringMatching(
        /^#1 opportunity\.upserted replay-crm-1 -> crm: 200 (not_synced|no_change) \(0 mirrors\)$/,
      ),
      "#2 quote.upserted replay-cpq-1 -> cpq: 200 not_synced (0 mirrors)",
      "#3 quote.lines.upserted replay-cpq-3 -> cpq: 200 not_synced (0 mirrors)",
      "#4 cart.finalized replay-cpq-6 -> cpq: 200 started (2 mirrors)",
    ]);
    const second = await cli(args);
    expect(second.stdout).toContain(
      "#4 cart.finalized replay-cpq-6 -> cpq: 200 started (2 mirrors, replayed)",
    );
  });

  it("replays a trigger as support holds it: an EventBridge event, a failed-invocations record or queue message, pretty-printed", async () => {
    const trigger = (eventId: string, tenantId = "demo") => ({
      version: "0",
      source: "cpq",
      "detail-type": "cart.finalized",
      detail: {
        tenantId,
        eventId,
        type: "cart.finalized",
        occurredAt: "2026-03-02T09:20:00Z",
        data: { quoteId: "q-2001" },
      },
    });
    // The Lambda on-failure destination wraps the event under requestPayload; the queue holds that as Body.
    const record = (eventId: string) => ({
      version: "1.0",
      requestContext: {},
      requestPayload: trigger(eventId),
    });
    const run = async (name: string, content: unknown) => {
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify(content, null, 2));
      return cli([
        "replay",
        "--url",
        baseUrl,
        "--tenant",
        "demo",
        "--file",
        file,
        "--cpq-secret",
        DEMO_SECRETS.cpq,
      ]);
    };
    const single = await run("eventbridge.json", trigger("wrap-1"));
    expect(single.stdout).toMatch(/^#1 cart\.finalized wrap-1 -> cpq: 200 /);
    const queue = await run("receive-message.json", {
      Messages: [
        { MessageId: "m1", Body: JSON.stringify(record("wrap-2")) },
        { MessageId: "m2", Body: JSON.stringify(record("wrap-3")) },
      ],
    });
    expect(queue.stdout).toMatch(/#1 cart\.finalized wrap-2 -> cpq: 200 /);
    expect(queue.stdout).toMatch(/#2 cart\.finalized wrap-3 -> cpq: 200 /);
    const otherTenant = await run("acme.json", trigger("wrap-4", "acme"));
    expect(otherTenant.code).toBe(1);
    expect(otherTenant.stdout).toContain("skipped: an event of tenant acme, not demo");
  });

  it("reads a JSON array, reports refused events and exits 1", async () => {
    const file = join(dir, "events.json");
    writeFileSync(
      file,
      JSON.stringify([
        { eventId: "x-1", type: "opportunity.upserted", occurredAt: "soon", data: {} },
        { type: "nope" },
      ]),
    );
    const run = await cli([
      "replay",
      "--url",
      baseUrl,
      "--tenant",
      "demo",
      "--file",
      file,
      "--crm-secret",
      DEMO_SECRETS.crm,
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("#1 opportunity.upserted x-1 -> crm: 422 invalid_event");
    expect(run.stdout).toContain("#2 nope ?: skipped: not a quotesync event type");
    expect(run.stderr).toBe("2 events, 0 accepted, 2 refused or skipped\n");
  });
});

describe("secrets outside the command line and tenants outside the local stage", () => {
  const endpoint = () => dynamoEndpoint();
  const path = "/webhooks/crm/demo";
  const signWith = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
    cli(["sign", "--path", path, "--body", "{}", ...argv], "", env);
  const verifies = (header: string) =>
    verifySignature({
      header: header.trim(),
      secrets: [DEMO_SECRETS.crm],
      method: "POST",
      pathWithQuery: path,
      rawBody: Buffer.from("{}"),
      nowSeconds: Math.floor(Date.now() / 1000),
    }).ok;

  it("signs with a secret from QUOTESYNC_SECRET or from --secret-file (one line, newline dropped)", async () => {
    const fromEnv = await signWith([], { QUOTESYNC_SECRET: DEMO_SECRETS.crm });
    expect(fromEnv.code).toBe(0);
    expect(verifies(fromEnv.stdout)).toBe(true);
    const file = join(dir, "crm.secret");
    writeFileSync(file, `${DEMO_SECRETS.crm}\n`);
    const fromFile = await signWith(["--secret-file", file]);
    expect(fromFile.code).toBe(0);
    expect(verifies(fromFile.stdout)).toBe(true);
    const both = await signWith(["--secret", "x", "--secret-file", file]);
    expect(both.code).toBe(2);
    const twoLines = join(dir, "two-lines.secret");
    writeFileSync(twoLines, "line-one\nline-two\n");
    expect((await signWith(["--secret-file", twoLines])).code).toBe(2);
  });

  it("replays with secrets read from files", async () => {
    const crm = join(dir, "replay-crm.secret");
    writeFileSync(crm, DEMO_SECRETS.crm);
    const events = join(dir, "one-event.jsonl");
    writeFileSync(
      events,
      `${JSON.stringify({ eventId: "secret-file-1", type: "opportunity.upserted", occurredAt: new Date().toISOString(), data: { opportunity: { id: "o-secret-file", currency: "USD" } } })}\n`,
    );
    const run = await cli([
      "replay",
      "--url",
      baseUrl,
      "--tenant",
      "demo",
      "--file",
      events,
      "--crm-secret-file",
      crm,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect((await h.store.loadOpportunity("demo", "o-secret-file"))?.header.known).toBe(true);
  });

  const tenantFile = (overrides: Record<string, unknown>) => {
    const file = join(dir, `tenant-${Object.keys(overrides).join("-")}-${Math.random()}.json`);
    const tenant = JSON.parse(readFileSync(join(ROOT, "examples/tenant.json"), "utf8"));
    writeFileSync(file, JSON.stringify({ ...tenant, tenantId: "stage-check", ...overrides }));
    return file;
  };
  const put = (file: string, stage: string) =>
    cli([
      "tenant",
      "put",
      "--file",
      file,
      "--table",
      h.table.tableName,
      "--endpoint",
      endpoint(),
      "--stage",
      stage,
    ]);

  it("refuses a tenant with plaintext secrets outside the local stage, and stores one that names its SSM parameter", async () => {
    const inline = await put(tenantFile({}), "prod");
    expect(inline.code).toBe(1);
    expect(inline.stderr).toMatch(/secretsParameter: outside the local stage \(here: prod\)/);
    expect(await h.store.loadTenant("stage-check")).toBeNull();
    const ssm = tenantFile({
      secrets: { crm: [], cpq: [] },
      secretsParameter: "/quotesync/stage-check/secrets",
    });
    const stored = await put(ssm, "prod");
    expect(stored.code, stored.stderr).toBe(0);
    expect((await h.store.loadTenant("stage-check"))?.secretsParameter).toBe(
      "/quotesync/stage-check/secrets",
    );
  });

  it("refuses a secretsParameter outside /quotesync/ (the functions could not read it) with a clear error", async () => {
    const file = tenantFile({ secrets: { crm: [], cpq: [] }, secretsParameter: "/other/acme/secrets" });
    const run = await put(file, "prod");
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /secretsParameter: the functions may read only parameters under \/quotesync\//,
    );
  });
});
