import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoTenant, TenantConfig } from "../../domain/tenant.js";
import { scanState } from "../support/dynamo.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";
import { DEMO_SECRETS, handlerHarness } from "../support/handlers.js";

const ACME_SECRETS = { crm: "acme-crm-secret", cpq: "acme-cpq-secret" } as const;
/** acme requires permissions to start and stop sync. */
const acme = TenantConfig.parse({
  tenantId: "acme",
  secrets: { crm: [ACME_SECRETS.crm], cpq: [ACME_SECRETS.cpq] },
  permissions: { start: ["sync.start"], stop: ["sync.stop"] },
});

/** Ids a hostile tenant might send to reach someone else's items through the key layout. */
const HOSTILE_IDS = [
  "shared",
  "shared#H",
  "x#Q#shared",
  "T#acme#O#shared",
  "../acme/shared",
  "acme/O/shared",
  "#",
  "//",
  "shared#L#gen#key",
];

type Item = Record<string, unknown>;
const ofTenant = (items: Item[], tenantId: string) =>
  items.filter((item) => String(item.pk).startsWith(`T#${tenantId}#`) || item.pk === `TENANT#${tenantId}`);

describe("tenant isolation and permissions (DynamoDB Local, through the handlers)", () => {
  let h: Awaited<ReturnType<typeof handlerHarness>>;
  const acmeCrm = (event: unknown) =>
    h.request("POST", "/webhooks/crm/acme", { body: event, secret: ACME_SECRETS.crm });
  const acmeCpq = (event: unknown) =>
    h.request("POST", "/webhooks/cpq/acme", { body: event, secret: ACME_SECRETS.cpq });
  const acmeCommand = (action: "start" | "stop", quoteId: string, body: unknown = {}) =>
    h.request("POST", `/sync/acme/quotes/${encodeURIComponent(quoteId)}/${action}`, {
      body,
      secret: ACME_SECRETS.crm,
    });

  beforeAll(async () => {
    h = await handlerHarness({ tenants: [demoTenant(DEMO_SECRETS), acme] });
    // acme's data, which demo will try to reach.
    expect(
      (await acmeCrm(opportunityUpserted("shared", { stage: "Acme" }, { occurredAt: at(1) }))).statusCode,
    ).toBe(200);
    expect((await acmeCpq(quoteUpserted("shared-q", "shared", {}, { occurredAt: at(2) }))).statusCode).toBe(
      200,
    );
    expect(
      (await acmeCpq(quoteLinesUpserted("shared-q", [line("acme-l1")], { occurredAt: at(3) }))).statusCode,
    ).toBe(200);
  });
  afterAll(async () => {
    await h.dispose();
  });

  it("lets demo write records under every hostile id without touching a single acme item", async () => {
    const acmeBefore = ofTenant(await scanState(h.table.tableName), "acme");
    for (const [index, id] of HOSTILE_IDS.entries()) {
      const t = 10 + index * 5;
      expect(
        (await h.crm(opportunityUpserted(id, { stage: "Demo" }, { occurredAt: at(t) }))).statusCode,
      ).toBe(200);
      expect((await h.cpq(quoteUpserted(`${id}`, id, {}, { occurredAt: at(t + 1) }))).statusCode).toBe(200);
      expect(
        (await h.cpq(quoteLinesUpserted(id, [line(`${id}-line`)], { occurredAt: at(t + 2) }))).statusCode,
      ).toBe(200);
      expect((await h.start(id)).statusCode).toBe(200);
    }
    const after = await scanState(h.table.tableName);
    expect(ofTenant(after, "acme")).toEqual(acmeBefore);
    // Everything demo's requests wrote is under demo's prefix.
    const foreign = after.filter(
      (item) =>
        !String(item.pk).startsWith("T#demo#") &&
        !String(item.pk).startsWith("T#acme#") &&
        !String(item.pk).startsWith("TENANT#"),
    );
    expect(foreign).toEqual([]);
  });

  it("shows each tenant only its own record under the same opportunity id", async () => {
    const demoStatus = await h.status("shared");
    const acmeStatus = await h.request("GET", "/sync/acme/opportunities/shared", {
      secret: ACME_SECRETS.cpq,
    });
    expect(demoStatus.body.stage).toBe("Demo");
    expect(demoStatus.body.quotes.map((q: { quoteId: string }) => q.quoteId)).toEqual(["shared"]);
    expect(acmeStatus.body.stage).toBe("Acme");
    expect(acmeStatus.body.quotes.map((q: { quoteId: string }) => q.quoteId)).toEqual(["shared-q"]);
    expect(acmeStatus.body.syncedQuoteId).toBeNull();
  });

  it("never reaches acme's records through encoded path segments or ids", async () => {
    for (const opportunityId of ["../acme/shared", "T#acme#O#shared", "acme/O/shared"]) {
      const response = await h.status(opportunityId);
      expect([200, 404]).toContain(response.statusCode);
      if (response.statusCode === 200) expect(response.body.stage).not.toBe("Acme");
    }
    const audit = await h.request(
      "GET",
      `/sync/demo/opportunities/${encodeURIComponent("../acme/shared")}/audit`,
    );
    expect(JSON.stringify(audit.body)).not.toContain("acme-l1");
  });

  it("refuses one tenant's outbox cursor on another's outbox, and a cursor past the end, with 400 invalid_cursor", async () => {
    const acmeOutbox = (query: string) =>
      h.request("GET", `/sync/acme/outbox${query}`, { secret: ACME_SECRETS.crm });
    // demo has entries (its starts above); a cursor it hands out is demo's.
    const demoPage = await h.request("GET", "/sync/demo/outbox?limit=1");
    const demoCursor = demoPage.body.next as string;
    expect(demoPage.body.entries).toHaveLength(1);
    const crossed = await acmeOutbox(`?after=${demoCursor}`);
    expect(crossed.statusCode).toBe(400);
    expect(crossed.body.error).toMatchObject({ code: "invalid_cursor" });
    expect(crossed.body.error.message).toContain("another tenant");
    const beyond = Buffer.from("o:acme:9999").toString("base64url");
    const past = await acmeOutbox(`?after=${beyond}`);
    expect(past.statusCode).toBe(400);
    expect(past.body.error.message).toContain("past the end");
    // A cursor without a tenant (as given out before cursors named one) still reads.
    const legacy = await h.request(
      "GET",
      `/sync/demo/outbox?after=${Buffer.from("o:1").toString("base64url")}`,
    );
    expect(legacy.statusCode).toBe(200);
    // Caught up at the end: the cursor is repeated, not refused.
    const all = await h.request("GET", "/sync/demo/outbox?limit=500");
    const end = await h.request("GET", `/sync/demo/outbox?after=${all.body.next}`);
    expect(end.statusCode).toBe(200);
    expect(end.body).toEqual({ entries: [], next: all.body.next });
  });

  it("refuses a tenant id carrying key separators as an unknown tenant (404)", async () => {
    for (const tenantId of ["acme%23O%23shared", "demo%23x", "ACME", "acme%2F.."]) {
      const response = await h.request("POST", `/webhooks/crm/${tenantId}`, {
        body: opportunityUpserted("shared"),
        secret: ACME_SECRETS.crm,
      });
      expect(response.statusCode).toBe(404);
    }
  });

  describe("the permission policy on start and stop", () => {
    it("refuses a start without the permission with 403 forbidden, and writes only its audit entry", async () => {
      const before = await scanState(h.table.tableName);
      const response = await acmeCommand("start", "shared-q", {
        actor: { userId: "mallory", permissions: [] },
      });
      expect(response.statusCode).toBe(403);
      expect(response.body.error.code).toBe("forbidden");
      const after = await scanState(h.table.tableName);
      const added = after.filter((item) => !before.some((old) => old.pk === item.pk && old.sk === item.sk));
      expect(added).toHaveLength(1);
      expect(added[0]?.pk).toBe("T#acme#A#shared");
      expect(after.filter((item) => before.some((old) => old.pk === item.pk && old.sk === item.sk))).toEqual(
        before,
      );

      const audit = await h.request("GET", "/sync/acme/opportunities/shared/audit", {
        secret: ACME_SECRETS.crm,
      });
      expect(audit.body.entries[0]).toMatchObject({ type: "command.forbidden", quoteId: "shared-q" });
      expect(audit.body.entries[0].summary).toContain("mallory");
    });

    it("starts with the permission, then refuses a stop without it (403, audited), then stops with it", async () => {
      const started = await acmeCommand("start", "shared-q", {
        actor: { userId: "alice", permissions: ["sync.start"] },
      });
      expect(started.statusCode).toBe(200);
      expect(started.body.status).toBe("started");

      const refused = await acmeCommand("stop", "shared-q", {
        actor: { userId: "alice", permissions: ["sync.start"] },
      });
      expect(refused.statusCode).toBe(403);
      expect(refused.body.error.code).toBe("forbidden");
      const audit = await h.request("GET", "/sync/acme/opportunities/shared/audit", {
        secret: ACME_SECRETS.crm,
      });
      expect(audit.body.entries[0]).toMatchObject({ type: "command.forbidden" });
      expect(
        (await h.request("GET", "/sync/acme/opportunities/shared", { secret: ACME_SECRETS.crm })).body
          .syncedQuoteId,
      ).toBe("shared-q");

      const stopped = await acmeCommand("stop", "shared-q", {
        actor: { userId: "bob", permissions: ["sync.stop"] },
      });
      expect(stopped.statusCode).toBe(200);
      expect(stopped.body.status).toBe("stopped");
    });
  });
});
