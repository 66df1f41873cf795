import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type ConnectorStore, MemoryConnectorStore } from "../../connectors/applier.js";
import { StorageBusy } from "../../domain/errors.js";
import { DynamoConnectorStore } from "../../infra/dynamodb/connector-store.js";
import { localDynamoClientConfig } from "../../infra/dynamodb-local.js";
import { createTestTable, dynamoEndpoint, type TestTable } from "../support/dynamo.js";

let table: TestTable;
let now = Date.parse("2026-11-30T10:00:00Z");

beforeAll(async () => {
  table = await createTestTable();
});
afterAll(async () => {
  await table.dispose();
});

const stores: Array<[string, () => ConnectorStore]> = [
  ["in memory", () => new MemoryConnectorStore()],
  ["on DynamoDB Local", () => new DynamoConnectorStore(table.doc, table.tableName, () => now)],
];

describe.each(stores)("the connector store %s", (_name, make) => {
  it("creates a record only when none exists, then versions every write", async () => {
    const store = make();
    const tenant = `t-${Math.random().toString(36).slice(2)}`;
    expect(await store.put(tenant, "token", { value: "a" }, null)).toBe(true);
    expect(await store.put(tenant, "token", { value: "b" }, null)).toBe(false);
    expect(await store.get(tenant, "token")).toEqual({ value: { value: "a" }, version: 1 });
    expect(await store.put(tenant, "token", { value: "c" }, 1)).toBe(true);
    expect(await store.put(tenant, "token", { value: "d" }, 1)).toBe(false);
    expect(await store.get(tenant, "token")).toEqual({ value: { value: "c" }, version: 2 });
  });

  it("keeps tenants apart and reads many keys at once", async () => {
    const store = make();
    const [a, b] = [`a-${Math.random().toString(36).slice(2)}`, `b-${Math.random().toString(36).slice(2)}`];
    await store.put(a, "k1", 1, null);
    await store.put(a, "k2", 2, null);
    await store.put(b, "k1", 3, null);
    const many = await store.getMany(a, ["k1", "k2", "k3", "k1"]);
    expect([...many.entries()].sort()).toEqual([
      ["k1", { value: 1, version: 1 }],
      ["k2", { value: 2, version: 1 }],
    ]);
    expect(await store.get(b, "k2")).toBeNull();
    await store.delete(a, "k1");
    expect(await store.get(a, "k1")).toBeNull();
    expect(await store.get(b, "k1")).toEqual({ value: 3, version: 1 });
  });

  it("reads more than one batch of keys", async () => {
    const store = make();
    const tenant = `m-${Math.random().toString(36).slice(2)}`;
    const names = Array.from({ length: 130 }, (_, index) => `line#${index}`);
    await Promise.all(names.map((name, index) => store.put(tenant, name, index, null)));
    const many = await store.getMany(tenant, names);
    expect(many.size).toBe(130);
    expect(many.get("line#129")?.value).toBe(129);
  });
});

describe("the connector store on DynamoDB Local", () => {
  it("treats a record past its time to live as gone, and lets it be created again", async () => {
    const store = new DynamoConnectorStore(table.doc, table.tableName, () => now);
    await store.put("ttl", "token", "secret-ish", null, 60);
    expect(await store.get("ttl", "token")).toMatchObject({ value: "secret-ish" });
    now += 61_000;
    expect(await store.get("ttl", "token")).toBeNull();
    expect((await store.getMany("ttl", ["token"])).size).toBe(0);
    expect(await store.put("ttl", "token", "fresh", null, 60)).toBe(true);
    expect(await store.get("ttl", "token")).toEqual({ value: "fresh", version: 1 });
  });

  it("a record with a time to live is live until that second, gone at it; not overwritten while live", async () => {
    const store = new DynamoConnectorStore(table.doc, table.tableName, () => now);
    now = Math.ceil(now / 1000) * 1000 + 1000;
    const written = now;
    await store.put("ttl-edge", "token", "first", null, 60);
    expect(await store.put("ttl-edge", "token", "second", null, 60)).toBe(false);
    now = written + 59_999;
    expect(await store.get("ttl-edge", "token")).toEqual({ value: "first", version: 1 });
    now = written + 60_000;
    expect(await store.get("ttl-edge", "token")).toBeNull();
  });
});

describe("the connector store on DynamoDB Local under faults (made by middleware)", () => {
  let client: DynamoDBClient;
  let fault: ((commandName: string, input: Record<string, unknown>) => unknown) | null = null;
  let sends = 0;
  let store: DynamoConnectorStore;

  beforeAll(() => {
    client = new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint()));
    client.middlewareStack.add(
      (next, context) => async (args) => {
        sends++;
        const answer = fault?.(String(context.commandName), args.input as Record<string, unknown>);
        if (answer) return answer as never;
        return next(args);
      },
      { step: "initialize", name: "connectorFaults" },
    );
    store = new DynamoConnectorStore(DynamoDBDocumentClient.from(client), table.tableName, () => now);
  });
  afterAll(() => {
    client.destroy();
  });
  afterEach(() => {
    fault = null;
    sends = 0;
    vi.restoreAllMocks();
  });

  it("every call answers StorageBusy when DynamoDB throttles; a throttle is not a refused condition", async () => {
    fault = () => {
      throw Object.assign(new Error("slow down"), { name: "ThrottlingException" });
    };
    const calls: Array<[string, () => Promise<unknown>]> = [
      ["get", () => store.get("cs-f", "k")],
      ["getMany", () => store.getMany("cs-f", ["k"])],
      ["put new", () => store.put("cs-f", "k", 1, null)],
      ["put versioned", () => store.put("cs-f", "k", 1, 3)],
      ["delete", () => store.delete("cs-f", "k")],
    ];
    const outcomes = [];
    for (const [name, call] of calls) {
      outcomes.push([
        name,
        await call().then(
          () => "resolved",
          (error: unknown) => (error instanceof StorageBusy ? "StorageBusy" : String(error)),
        ),
      ]);
    }
    expect(outcomes).toEqual(calls.map(([name]) => [name, "StorageBusy"]));
  });

  it("reads consistently", async () => {
    const reads: unknown[] = [];
    fault = (commandName, input) => {
      if (commandName === "GetItemCommand") reads.push(input.ConsistentRead);
      if (commandName === "BatchGetItemCommand") {
        for (const request of Object.values(
          input.RequestItems as Record<string, { ConsistentRead?: boolean }>,
        ))
          reads.push(request.ConsistentRead);
      }
      return undefined;
    };
    await store.get("cs-c", "a");
    await store.getMany("cs-c", ["a"]);
    expect(reads).toEqual([true, true]);
  });

  it("getMany reads unprocessed keys again, six sends at most, then StorageBusy", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0); // no backoff: the waits are not what is tested
    await store.put("cs-u", "a", "A", null);
    await store.put("cs-u", "b", "B", null);
    let unprocessed = 5;
    const leaveUnprocessed = (commandName: string, input: Record<string, unknown>) => {
      if (commandName !== "BatchGetItemCommand" || unprocessed <= 0) return undefined;
      unprocessed--;
      const requests = input.RequestItems as Record<string, { Keys: unknown[] }>;
      const left = Object.fromEntries(Object.entries(requests).map(([name, r]) => [name, { Keys: r.Keys }]));
      // An answer with no item read carries no Responses at all.
      return { output: { UnprocessedKeys: left, $metadata: {} }, response: {} };
    };
    fault = leaveUnprocessed;
    sends = 0;
    const found = await store.getMany("cs-u", ["a", "b", "a"]);
    expect(sends).toBe(6);
    expect([...found.entries()].sort()).toEqual([
      ["a", { value: "A", version: 1 }],
      ["b", { value: "B", version: 1 }],
    ]);

    unprocessed = 6;
    sends = 0;
    await expect(store.getMany("cs-u", ["a", "b"])).rejects.toBeInstanceOf(StorageBusy);
    expect(sends).toBe(6);
  });
});
