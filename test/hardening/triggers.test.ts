import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoTenant, TenantConfig } from "../../domain/tenant.js";
import { runtime } from "../../functions/lib/runtime.js";
import { handleTrigger } from "../../functions/trigger-event.js";
import { scanState } from "../support/dynamo.js";
import {
  at,
  cpqEvent,
  line,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";
import { DEMO_SECRETS, handlerHarness } from "../support/handlers.js";

type Harness = Awaited<ReturnType<typeof handlerHarness>>;

const secrets = { crm: [DEMO_SECRETS.crm], cpq: [DEMO_SECRETS.cpq] };
/** Pins its own trigger source. */
const acme = TenantConfig.parse({ tenantId: "acme", secrets, policy: { triggerSources: ["com.acme.cpq"] } });
/** Holds triggers to the start policy; no actor configured for them. */
const strict = TenantConfig.parse({
  tenantId: "strict",
  secrets,
  permissions: { start: ["sync.start"], checkTriggers: true },
});
/** Holds triggers to the start policy, with an actor for triggers that name none. */
const robot = TenantConfig.parse({
  tenantId: "robot",
  secrets,
  permissions: {
    start: ["sync.start"],
    checkTriggers: true,
    triggerActor: { userId: "cpq-automation", permissions: ["sync.start"] },
  },
});

function delivery(source: string, tenantId: string, quoteId: string) {
  return {
    version: "0",
    id: `eb-${Math.random()}`,
    source,
    "detail-type": "cart.finalized",
    account: "000000000000",
    time: new Date().toISOString(),
    region: "us-east-1",
    resources: [],
    detail: { ...(cpqEvent("cart.finalized", { quoteId }, { occurredAt: at(50) }) as object), tenantId },
  };
}

async function pair(h: Harness, tenantId: string, id: string) {
  expect((await h.crm(opportunityUpserted(`${id}-o`, {}, { occurredAt: at(1) }), tenantId)).statusCode).toBe(
    200,
  );
  expect(
    (await h.cpq(quoteUpserted(`${id}-q`, `${id}-o`, {}, { occurredAt: at(2) }), tenantId)).statusCode,
  ).toBe(200);
  expect(
    (await h.cpq(quoteLinesUpserted(`${id}-q`, [line(`${id}-l`)], { occurredAt: at(3) }), tenantId))
      .statusCode,
  ).toBe(200);
}

describe("who may trigger a tenant (DynamoDB Local)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await handlerHarness({ tenants: [demoTenant(DEMO_SECRETS), acme, strict, robot] });
    await pair(h, "demo", "d");
    await pair(h, "acme", "a");
    for (const tenantId of ["strict", "robot"]) await pair(h, tenantId, "p");
  });
  afterAll(async () => {
    await h.dispose();
  });

  it("drops, writing nothing, an EventBridge trigger from a source the named tenant does not allow", async () => {
    const before = await scanState(h.table.tableName);
    // acme's sender names demo (which allows only `cpq`), and a `cpq` sender names acme.
    expect(await handleTrigger(delivery("com.acme.cpq", "demo", "d-q"), runtime())).toMatchObject({
      outcome: "dropped",
      reason: expect.stringMatching(/source com\.acme\.cpq may not trigger tenant demo/),
    });
    expect(await handleTrigger(delivery("cpq", "acme", "a-q"), runtime())).toMatchObject({
      outcome: "dropped",
    });
    expect(await scanState(h.table.tableName)).toEqual(before);
  });

  it("applies a trigger from a source the tenant allows", async () => {
    expect(await handleTrigger(delivery("com.acme.cpq", "acme", "a-q"), runtime())).toMatchObject({
      outcome: "applied",
      response: { status: "started" },
    });
    expect(await handleTrigger(delivery("cpq", "demo", "d-q"), runtime())).toMatchObject({
      outcome: "applied",
    });
  });

  it("refuses (403, audited) a trigger without the start permission when the tenant checks triggers", async () => {
    const response = await h.cpq(
      cpqEvent("cart.finalized", { quoteId: "p-q" }, { occurredAt: at(60) }),
      "strict",
    );
    expect(response.statusCode).toBe(403);
    expect((await h.status("p-o", "strict")).body.syncedQuoteId).toBeNull();
    const audit = await h.request("GET", "/sync/strict/opportunities/p-o/audit");
    expect(audit.body.entries[0]).toMatchObject({ type: "command.forbidden" });
    // Through EventBridge the same refusal is a dropped trigger.
    expect(await handleTrigger(delivery("cpq", "strict", "p-q"), runtime())).toMatchObject({
      outcome: "dropped",
    });
  });

  it("applies the trigger when its actor holds the permission, or the tenant's trigger actor does", async () => {
    const withActor = cpqEvent(
      "cart.finalized",
      { quoteId: "p-q" },
      { occurredAt: at(61), actor: { userId: "u1", permissions: ["sync.start"] } },
    );
    const started = await h.cpq(withActor, "strict");
    expect(started.statusCode).toBe(200);
    expect(started.body.status).toBe("started");
    const byRobot = await h.cpq(
      cpqEvent("cart.finalized", { quoteId: "p-q" }, { occurredAt: at(62) }),
      "robot",
    );
    expect(byRobot.statusCode).toBe(200);
    expect((await h.status("p-o", "robot")).body.syncedQuoteId).toBe("p-q");
  });

  it("refuses a trigger source in AWS's own namespace when the tenant is validated", () => {
    const parsed = TenantConfig.safeParse({
      tenantId: "x",
      secrets,
      policy: { triggerSources: ["aws.events"] },
    });
    expect(parsed.success).toBe(false);
  });
});
