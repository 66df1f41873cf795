import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PortalInUse } from "../../domain/errors.js";
import { InMemorySyncStore } from "../../domain/memory-store.js";
import type { SyncStore } from "../../domain/store.js";
import { TenantConfig } from "../../domain/tenant.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { createTestTable, type TestTable } from "../support/dynamo.js";

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable();
});
afterAll(async () => {
  await table.dispose();
});

let nextPortal = 700_000;

function onPortal(tenantId: string, portalId: number | null): TenantConfig {
  const side =
    portalId === null
      ? { kind: "native" }
      : { kind: "hubspot", portalId, appId: 54321, accessToken: "pat-x", clientSecret: "secret-x" };
  return TenantConfig.parse({
    tenantId,
    secrets: { crm: ["crm-secret-0001"], cpq: ["cpq-secret-0001"] },
    connectors: { crm: side, cpq: side },
  });
}

const stores: Array<[string, () => SyncStore]> = [
  ["on DynamoDB Local", () => new DynamoSyncStore({ doc: table.doc, tableName: table.tableName })],
  ["in memory", () => new InMemorySyncStore()],
];

describe.each(stores)("one HubSpot portal, one tenant (%s)", (_name, make) => {
  it("refuses a second tenant naming a portal another tenant serves, writing nothing for it", async () => {
    const store = make();
    const portal = nextPortal++;
    await store.putTenant(onPortal("first", portal));
    const refused = await store.putTenant(onPortal("second", portal)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PortalInUse);
    expect((refused as PortalInUse).ownerTenantId).toBe("first");
    expect((refused as Error).message).toContain(`portal ${portal} is already served by tenant first`);
    expect(await store.loadTenant("second")).toBeNull();
    expect(await store.findTenantIdByHubSpotPortal(portal)).toBe("first");
    // The owner itself may be written again (a changed configuration).
    await store.putTenant(onPortal("first", portal));
    expect(await store.findTenantIdByHubSpotPortal(portal)).toBe("first");
  });

  it("lets a portal go to another tenant once its tenant no longer names it", async () => {
    const store = make();
    const [portal, other] = [nextPortal++, nextPortal++];
    await store.putTenant(onPortal("mover", portal));
    await store.putTenant(onPortal("mover", other));
    await store.putTenant(onPortal("newcomer", portal));
    expect(await store.findTenantIdByHubSpotPortal(portal)).toBe("newcomer");
    await store.putTenant(onPortal("leaver", nextPortal));
    await store.putTenant(onPortal("leaver", null));
    await store.putTenant(onPortal("heir", nextPortal));
    expect(await store.findTenantIdByHubSpotPortal(nextPortal++)).toBe("heir");
  });

  it("gives a portal claimed by two tenants at once to exactly one of them", async () => {
    const store = make();
    const portal = nextPortal++;
    const outcomes = await Promise.allSettled(
      ["racer-a", "racer-b", "racer-c"].map((tenantId) => store.putTenant(onPortal(tenantId, portal))),
    );
    const won = outcomes.filter((outcome) => outcome.status === "fulfilled");
    expect(won).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") expect(outcome.reason).toBeInstanceOf(PortalInUse);
    }
    const owner = await store.findTenantIdByHubSpotPortal(portal);
    expect(owner).not.toBeNull();
    const losers = ["racer-a", "racer-b", "racer-c"].filter((tenantId) => tenantId !== owner);
    for (const tenantId of losers) expect(await store.loadTenant(tenantId)).toBeNull();
  });
});
