import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandKey } from "../../domain/engine/sync-engine.js";
import { signRequest } from "../../functions/lib/signature.js";
import { scanState } from "../support/dynamo.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";
import { DEMO_SECRETS, handlerHarness } from "../support/handlers.js";

type Harness = Awaited<ReturnType<typeof handlerHarness>>;

describe("start/stop idempotency keys and signed replays (DynamoDB Local, through the handlers)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await handlerHarness();
    expect((await h.crm(opportunityUpserted("o-r", {}, { occurredAt: at(1) }))).statusCode).toBe(200);
    for (const quoteId of ["a#b", "a", "q-r1", "q-r2"]) {
      expect((await h.cpq(quoteUpserted(quoteId, "o-r", {}, { occurredAt: at(2) }))).statusCode).toBe(200);
      expect(
        (await h.cpq(quoteLinesUpserted(quoteId, [line(`l-${quoteId}`)], { occurredAt: at(3) }))).statusCode,
      ).toBe(200);
    }
  });
  afterAll(async () => {
    await h.dispose();
  });

  it("keeps the keys of quote `a#b` + event `c` and quote `a` + event `b#c` apart", async () => {
    const first = await h.start("a#b", { eventId: "c" });
    expect(first.statusCode).toBe(200);
    expect(first.body.quoteId).toBe("a#b");
    const second = await h.start("a", { eventId: "b#c" });
    expect(second.statusCode).toBe(200);
    // Not answered with the first command's stored response: a different command, applied.
    expect(second.headers["x-quotesync-replayed"]).toBeUndefined();
    expect(second.body.quoteId).toBe("a");
    expect((await h.status("o-r")).body.syncedQuoteId).toBe("a");
  });

  it("answers an identical signed start without eventId, replayed within the window, with the stored response and changes nothing", async () => {
    const path = "/sync/demo/quotes/q-r1/start";
    const body = JSON.stringify({ actor: { userId: "u1" } });
    const signature = signRequest({ secret: DEMO_SECRETS.cpq, method: "POST", pathWithQuery: path, body });
    const first = await h.request("POST", path, { rawBody: body, signature });
    expect(first.statusCode).toBe(200);
    expect(first.headers["x-quotesync-replayed"]).toBeUndefined();
    expect((await h.start("q-r2")).statusCode).toBe(200);
    expect((await h.status("o-r")).body.syncedQuoteId).toBe("q-r2");

    const before = await scanState(h.table.tableName);
    const replay = await h.request("POST", path, { rawBody: body, signature });
    expect(replay.statusCode).toBe(200);
    expect(replay.headers["x-quotesync-replayed"]).toBe("true");
    expect(replay.body).toEqual(first.body);
    // The replay did not move the synced quote back to q-r1.
    expect((await h.status("o-r")).body.syncedQuoteId).toBe("q-r2");
    expect(await scanState(h.table.tableName)).toEqual(before);
  });

  it("answers an identical signed stop without eventId, replayed, with the stored response", async () => {
    const path = "/sync/demo/quotes/q-r2/stop";
    const signature = signRequest({
      secret: DEMO_SECRETS.crm,
      method: "POST",
      pathWithQuery: path,
      body: "",
    });
    const first = await h.request("POST", path, { rawBody: "", signature });
    expect(first.statusCode).toBe(200);
    // A command meant to be repeated within the same second names itself with an eventId.
    expect((await h.start("q-r2", { eventId: "restart-after-stop" })).statusCode).toBe(200);
    const replay = await h.request("POST", path, { rawBody: "", signature });
    expect(replay.headers["x-quotesync-replayed"]).toBe("true");
    expect((await h.status("o-r")).body.syncedQuoteId).toBe("q-r2");
  });

  it("still applies a new signed start without eventId (another signature time or body)", async () => {
    const path = "/sync/demo/quotes/q-r1/start";
    const now = Math.floor(Date.now() / 1000);
    for (const timestamp of [now - 1, now]) {
      const signature = signRequest({
        secret: DEMO_SECRETS.cpq,
        method: "POST",
        pathWithQuery: path,
        body: "",
        timestamp,
      });
      const response = await h.request("POST", path, { rawBody: "", signature });
      expect(response.statusCode).toBe(200);
      expect(response.headers["x-quotesync-replayed"]).toBeUndefined();
      expect((await h.start("q-r2", { eventId: `back-to-r2-${timestamp}` })).statusCode).toBe(200);
    }
  });

  it("keeps the key of ids without # as before, so processed records stored earlier are still found", () => {
    expect(commandKey("start", "q-1", "evt:1", undefined)).toBe("command#start#q-1#evt:1");
    expect(commandKey("stop", "a#b", "c", undefined)).toBe("command#stop#a%23b#c");
    expect(commandKey("stop", "a", "b#c", undefined)).toBe("command#stop#a#b%23c");
    expect(commandKey("start", "q-1", undefined, "digest")).toBe("command#start#q-1#%req:digest");
    expect(commandKey("start", "q-1", undefined, undefined)).toBeNull();
  });
});
