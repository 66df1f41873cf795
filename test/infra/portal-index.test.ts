import { DynamoDBClient, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ConcurrentModification, PortalInUse, StorageBusy } from "../../domain/errors.js";
import { InMemorySyncStore } from "../../domain/memory-store.js";
import type { SyncStore } from "../../domain/store.js";
import { TenantConfig } from "../../domain/tenant.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { localDynamoClientConfig } from "../../infra/dynamodb-local.js";
import { createTestTable, dynamoEndpoint, type TestTable } from "../support/dynamo.js";

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

describe("claiming a portal's index item against other writers (DynamoDB Local, faults by middleware)", () => {
  let client: DynamoDBClient;
  let store: DynamoSyncStore;
  /** Runs before each claim (TransactWriteItems) the store sends; may throw in its place. */
  let beforeClaim: (() => Promise<void>) | null = null;
  const claims: number[] = [];
  const ownerReads: Array<{ ConsistentRead?: boolean }> = [];
  const plain = () => new DynamoSyncStore({ doc: table.doc, tableName: table.tableName });

  beforeAll(() => {
    client = new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint()));
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: { pk?: string }; ConsistentRead?: boolean };
        if (context.commandName === "GetItemCommand" && input.Key?.pk?.startsWith("HUBSPOT#")) {
          ownerReads.push({ ConsistentRead: input.ConsistentRead });
        }
        if (context.commandName === "TransactWriteItemsCommand") {
          claims.push(claims.length + 1);
          if (beforeClaim) await beforeClaim();
        }
        return next(args);
      },
      { step: "initialize", name: "claimFaults" },
    );
    store = new DynamoSyncStore({ doc: DynamoDBDocumentClient.from(client), tableName: table.tableName });
  });
  afterAll(() => {
    client.destroy();
  });
  beforeEach(() => {
    beforeClaim = null;
    claims.length = 0;
    ownerReads.length = 0;
  });

  it("a tenant that claimed the portal between the read and the claim keeps it (unclaimed when read)", async () => {
    const portal = nextPortal++;
    beforeClaim = async () => {
      beforeClaim = null;
      await plain().putTenant(onPortal("early", portal));
    };
    const refused = await store.putTenant(onPortal("late", portal)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PortalInUse);
    expect((refused as PortalInUse).ownerTenantId).toBe("early");
    expect(claims).toHaveLength(1);
    expect(await store.findTenantIdByHubSpotPortal(portal)).toBe("early");
    expect(await store.loadTenant("late")).toBeNull();
  });

  it("a tenant that took over a left portal between the read and the claim keeps it", async () => {
    const [portal, elsewhere] = [nextPortal++, nextPortal++];
    await plain().putTenant(onPortal("leaver-2", portal));
    await plain().putTenant(onPortal("leaver-2", elsewhere)); // the index item still names it
    beforeClaim = async () => {
      beforeClaim = null;
      await plain().putTenant(onPortal("heir-early", portal));
    };
    const refused = await store.putTenant(onPortal("heir-late", portal)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PortalInUse);
    expect((refused as PortalInUse).ownerTenantId).toBe("heir-early");
    expect(await store.findTenantIdByHubSpotPortal(portal)).toBe("heir-early");
    expect(await store.loadTenant("heir-late")).toBeNull();
  });

  it("gives up after three claims the index item changed under: ConcurrentModification, nothing written", async () => {
    const portal = nextPortal++;
    let ghosts = 0;
    beforeClaim = async () => {
      // A tenant id no tenant item has: taken over each time, and changed again before the claim.
      await table.doc.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { pk: `HUBSPOT#${portal}`, sk: "TENANT", tenantId: `ghost-${++ghosts}` },
        }),
      );
    };
    const refused = await store.putTenant(onPortal("unlucky", portal)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ConcurrentModification);
    expect((refused as ConcurrentModification).context.items).toEqual([`hubspot portal ${portal}`]);
    expect(claims).toHaveLength(3);
    expect(ownerReads).toEqual([
      { ConsistentRead: true },
      { ConsistentRead: true },
      { ConsistentRead: true },
    ]);
    expect(await store.loadTenant("unlucky")).toBeNull();
  });

  it("a throttled claim → StorageBusy; a cancellation for another reason is surfaced, not retried", async () => {
    const portal = nextPortal++;
    beforeClaim = async () => {
      beforeClaim = null;
      throw Object.assign(new Error("throttled"), { name: "ThrottlingException" });
    };
    await expect(store.putTenant(onPortal("throttled", portal))).rejects.toBeInstanceOf(StorageBusy);
    expect(claims).toHaveLength(1);
    expect(await store.loadTenant("throttled")).toBeNull();

    claims.length = 0;
    beforeClaim = async () => {
      beforeClaim = null;
      throw new TransactionCanceledException({
        message: "Transaction cancelled",
        $metadata: {},
        CancellationReasons: [{ Code: "None" }, { Code: "TransactionConflict" }],
      });
    };
    await expect(store.putTenant(onPortal("conflicted", portal))).rejects.toBeInstanceOf(
      TransactionCanceledException,
    );
    expect(claims).toHaveLength(1);
    expect(await store.findTenantIdByHubSpotPortal(portal)).toBeNull();

    // A cancellation that names no reasons is surfaced as it is too.
    beforeClaim = async () => {
      beforeClaim = null;
      throw new TransactionCanceledException({ message: "Transaction cancelled", $metadata: {} });
    };
    await expect(store.putTenant(onPortal("unexplained", portal))).rejects.toBeInstanceOf(
      TransactionCanceledException,
    );
    expect(await store.loadTenant("unexplained")).toBeNull();
  });
});
