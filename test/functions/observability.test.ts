import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { ConcurrentModification } from "../../domain/errors.js";
import { line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";

// Metrics are disabled for the whole run (vitest.config.ts); this file turns them on before the
// metrics module is first loaded (the harness and the handlers load it through dynamic imports).
// Logs are SILENT for the run too; the level is read once, when the logger module loads.
process.env.POWERTOOLS_METRICS_DISABLED = "false";
process.env.POWERTOOLS_LOG_LEVEL = "INFO";
const { handlerHarness, DEMO_SECRETS } = await import("../support/handlers.js");

// biome-ignore lint/suspicious/noExplicitAny: log and EMF lines are free-form JSON, read field by field
type LogLine = Record<string, any>;
type Harness = Awaited<ReturnType<typeof handlerHarness>>;
let h: Harness;
let output: string[] = [];

/** The log and EMF lines written while `run` executes (stdout and stderr are captured in every test). */
async function capture<T>(run: () => Promise<T>): Promise<{ result: T; lines: LogLine[]; raw: string }> {
  output = [];
  const result = await run();
  const raw = output.join("");
  const lines = raw
    .split("\n")
    .filter((text) => text.trim() !== "")
    .map((text) => JSON.parse(text) as LogLine);
  return { result, lines, raw };
}

const requestLines = (lines: LogLine[]) => lines.filter((entry) => entry.message === "request");
const emfLines = (lines: LogLine[]) => lines.filter((entry) => entry._aws !== undefined);

beforeAll(async () => {
  h = await handlerHarness();
});
afterAll(async () => {
  await h.dispose();
});
beforeEach(() => {
  const write = (chunk: unknown) => {
    output.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(write);
  vi.spyOn(process.stderr, "write").mockImplementation(write);
});
afterEach(() => vi.restoreAllMocks());

describe("request log lines", () => {
  it("writes one JSON line per request with route, tenant, event type, event id as correlation id, outcome, mirrors, status and duration", async () => {
    await h.crm(opportunityUpserted("opp-log-1"));
    await h.cpq(quoteUpserted("q-log-1", "opp-log-1"));
    await h.start("q-log-1");
    const event = quoteLinesUpserted("q-log-1", [line("ql-1")], { eventId: "evt-log-lines" });
    const { result, lines } = await capture(() => h.cpq(event));
    expect(result.statusCode).toBe(200);
    const requests = requestLines(lines);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      level: "INFO",
      service: "quotesync",
      route: "POST /webhooks/cpq/{tenantId}",
      tenantId: "demo",
      eventType: "quote.lines.upserted",
      eventId: "evt-log-lines",
      correlation_id: "evt-log-lines",
      outcome: "applied",
      mirrors: 1,
      status: 200,
    });
    expect(requests[0]?.durationMs).toEqual(expect.any(Number));
    expect(requests[0]?.function_request_id).toEqual(expect.any(String));
  });

  it("marks a redelivered event as a duplicate and a bad signature with its error code", async () => {
    const event = opportunityUpserted("opp-log-2", {}, { eventId: "evt-log-dup" });
    await h.crm(event);
    const again = await capture(() => h.crm(event));
    expect(requestLines(again.lines)[0]).toMatchObject({
      outcome: "duplicate",
      correlation_id: "evt-log-dup",
    });

    const forged = await capture(() =>
      h.request("POST", "/webhooks/crm/demo", { body: event, secret: "not-the-secret" }),
    );
    expect(forged.result.statusCode).toBe(401);
    expect(requestLines(forged.lines)[0]).toMatchObject({ status: 401, errorCode: "invalid_signature" });
  });

  it("never logs secrets, signatures or payload values, whatever the outcome", async () => {
    const marker = "PAYLOAD-MARKER-7f3a";
    const good = quoteUpserted("q-log-3", "opp-log-3", { name: marker, terms: marker });
    const signature = `t=1700000000,v1=${"ab".repeat(32)}`;
    const { lines, raw } = await capture(async () => {
      await h.cpq(good);
      await h.request("POST", "/webhooks/cpq/demo", { body: good, signature });
      await h.request("POST", "/webhooks/cpq/demo", { rawBody: `{"name":"${marker}",` });
      await h.cpq({ ...(good as object), data: { quote: { id: marker } } });
      await h.request("POST", "/webhooks/crm/demo", { body: good, secret: DEMO_SECRETS.cpq });
    });
    expect(requestLines(lines).map((entry) => entry.status)).toEqual([200, 401, 400, 422, 401]);
    expect(requestLines(lines).map((entry) => entry.errorCode)).toEqual([
      undefined,
      "invalid_signature",
      "malformed_json",
      "invalid_event",
      "invalid_signature",
    ]);
    for (const forbidden of [marker, DEMO_SECRETS.crm, DEMO_SECRETS.cpq, "ab".repeat(32), "v1="]) {
      expect(raw).not.toContain(forbidden);
    }
    for (const entry of lines) expect(Object.keys(entry)).not.toContain("headers");
  });

  it("logs an unexpected failure at error level with its stack and cause, under the event's correlation id", async () => {
    vi.spyOn(h.store, "commit").mockRejectedValueOnce(
      new Error("storage exploded", { cause: new Error("socket reset") }),
    );
    const event = opportunityUpserted("opp-log-4", {}, { eventId: "evt-log-boom" });
    const { result, lines } = await capture(() => h.crm(event));
    expect(result.statusCode).toBe(500);
    expect(result.body).toEqual({
      error: { code: "internal_error", message: "internal error", details: [] },
    });
    const failure = lines.find((entry) => entry.level === "ERROR");
    expect(failure).toMatchObject({
      message: "request failed",
      correlation_id: "evt-log-boom",
      error: { name: "Error", message: "storage exploded", cause: { message: "socket reset" } },
    });
    expect(failure?.error.stack).toContain("storage exploded");
    expect(requestLines(lines)[0]).toMatchObject({
      status: 500,
      errorCode: "internal_error",
      outcome: "failed",
    });
  });
});

describe("metrics", () => {
  it("emits EMF counts of events by type and outcome, mirrors and requests, flushed per invocation", async () => {
    await h.crm(opportunityUpserted("opp-metric-1"));
    await h.cpq(quoteUpserted("q-metric-1", "opp-metric-1"));
    const { lines } = await capture(() => h.start("q-metric-1"));
    const [event, invocation, ...more] = emfLines(lines);
    expect(more).toEqual([]);
    expect(event?._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: "quotesync",
      Dimensions: [["service", "eventType", "outcome"]],
      Metrics: [{ Name: "Events", Unit: "Count" }],
    });
    expect(event).toMatchObject({ eventType: "sync.start", outcome: "started", Events: 1 });
    expect(invocation?._aws.CloudWatchMetrics[0]).toMatchObject({ Dimensions: [["service"]] });
    // Starting sync mirrors the quote to the CRM and the syncing flag to the CPQ.
    expect(invocation).toMatchObject({ Requests: 1, MirrorsEmitted: 2 });
  });

  it.each([
    ["empty", ""],
    ["blank", " \t "],
  ])("counts an event whose type is %s as a rejected request, without a blank dimension", async (_, type) => {
    const { result, raw, lines } = await capture(() =>
      h.crm({ eventId: "evt-empty-type", type, occurredAt: new Date().toISOString(), data: {} }),
    );
    expect(result.statusCode).toBe(422);
    expect(raw).not.toContain("doesn't meet the requirements");
    expect(emfLines(lines)).toMatchObject([{ Requests: 1 }]);
    expect(emfLines(lines).some((line) => "eventType" in line)).toBe(false);
  });

  it("counts signature failures", async () => {
    const { lines } = await capture(() =>
      h.request("GET", "/sync/demo/opportunities/opp-metric-1", { secret: "wrong-secret-123" }),
    );
    expect(emfLines(lines)).toMatchObject([{ SignatureFailures: 1, Requests: 1 }]);
  });

  it("counts storage conflicts and the retries they cause", async () => {
    const commit = h.store.commit.bind(h.store);
    vi.spyOn(h.store, "commit")
      .mockRejectedValueOnce(new ConcurrentModification({ items: ["opportunity opp-metric-2"] }))
      .mockImplementation(commit);
    const { result, lines } = await capture(() => h.crm(opportunityUpserted("opp-metric-2")));
    expect(result.statusCode).toBe(200);
    expect(emfLines(lines)).toMatchObject([
      { Events: 1, eventType: "opportunity.upserted", outcome: "not_synced" },
      { StorageConflicts: 1, StorageRetries: 1, Requests: 1 },
    ]);
  });
});

describe("scheduled run metrics", () => {
  it("counts what a run pushed, audited, found drifting and failed, in one EMF line per invocation", async () => {
    await h.crm(opportunityUpserted("opp-sched-1"));
    await h.cpq(quoteUpserted("q-sched-1", "opp-sched-1"));
    expect((await h.start("q-sched-1")).statusCode).toBe(200);
    const { handler } = await import("../../functions/scheduled.js");
    const { result, lines } = await capture(() => handler({} as never));
    const [run, ...more] = emfLines(lines);
    expect(more).toEqual([]);
    expect(run?._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: "quotesync",
      Dimensions: [["service"]],
    });
    expect(run).toMatchObject({
      ScheduledPairsPushed: 0,
      ScheduledPairsAudited: result.audit.examined,
      ScheduledPairsDrifting: 0,
      ScheduledFailures: 0,
      ScheduledStoppedEarly: 0,
    });
    expect(result.audit.examined).toBeGreaterThanOrEqual(1);
    const summary = lines.find((entry) => entry.message === "scheduled run");
    expect(summary).toMatchObject({ auditExamined: result.audit.examined, failures: 0 });
  });
});

describe("log level", () => {
  it("comes from POWERTOOLS_LOG_LEVEL, then LOG_LEVEL, falling back to INFO", async () => {
    const { logLevelFrom } = await import("../../functions/lib/logger.js");
    expect(logLevelFrom({ POWERTOOLS_LOG_LEVEL: "warn", LOG_LEVEL: "DEBUG" })).toBe("WARN");
    expect(logLevelFrom({ LOG_LEVEL: "debug" })).toBe("DEBUG");
    expect(logLevelFrom({})).toBe("INFO");
    expect(logLevelFrom({ POWERTOOLS_LOG_LEVEL: "chatty" })).toBe("INFO");
  });
});
