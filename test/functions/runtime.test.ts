import { createServer, type Server, type Socket } from "node:net";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InMemorySyncStore } from "../../domain/memory-store.js";
import { demoTenant } from "../../domain/tenant.js";
import { createRuntime, dynamoClient } from "../../functions/lib/runtime.js";

describe("the functions' DynamoDB client", () => {
  let server: Server;
  const sockets: Socket[] = [];
  let endpoint: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    // Accepts connections and never answers: a DynamoDB request that hangs.
    server = createServer((socket) => {
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (!address || typeof address === "string") throw new Error("no port");
    endpoint = `http://127.0.0.1:${address.port}`;
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_MAX_ATTEMPTS: "1",
    });
  });
  afterAll(async () => {
    process.env = saved;
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it("fails a request that never answers with a TimeoutError (which the store answers with 503) instead of hanging", async () => {
    const client = dynamoClient({ region: "eu-west-1", dynamoEndpoint: endpoint });
    try {
      const failure = await client
        .send(new GetItemCommand({ TableName: "t", Key: { pk: { S: "p" }, sk: { S: "s" } } }))
        .then(
          () => null,
          (error: unknown) => error,
        );
      expect(failure).toMatchObject({ name: "TimeoutError" });
      expect(sockets.length).toBeGreaterThan(0); // it did reach the server
    } finally {
      client.destroy();
    }
  });
});

describe("the container's tenant cache", () => {
  const tenant = demoTenant({ crm: "crm-secret-1", cpq: "cpq-secret-1" });
  function countingStore() {
    const store = new InMemorySyncStore();
    let reads = 0;
    const loadTenant = store.loadTenant.bind(store);
    store.loadTenant = (tenantId: string) => {
      reads++;
      return loadTenant(tenantId);
    };
    return { store, reads: () => reads };
  }

  it("stays bounded under requests for 10,000 unknown tenant ids, and they do not evict a known tenant", async () => {
    const { store, reads } = countingStore();
    await store.putTenant(tenant);
    const runtime = createRuntime(store, { tenantCacheMs: 60_000, tenantCacheSize: 50, clock: () => 1_000 });
    expect(await runtime.loadTenant("demo")).not.toBeNull();
    for (let i = 0; i < 10_000; i++) expect(await runtime.loadTenant(`forged-${i}`)).toBeNull();
    expect(runtime.tenantCache?.unknown.size).toBe(50);
    expect(runtime.tenantCache?.known.size).toBe(1);
    const before = reads();
    expect(await runtime.loadTenant("demo")).not.toBeNull();
    expect(reads()).toBe(before); // still cached
    // The most recent unknown ids are cached (negative caching), the oldest were evicted.
    await runtime.loadTenant("forged-9999");
    expect(reads()).toBe(before);
    await runtime.loadTenant("forged-0");
    expect(reads()).toBe(before + 1);
  });

  it("evicts the least recently used known tenant past its size", async () => {
    const { store, reads } = countingStore();
    for (const id of ["t-a", "t-b", "t-c"]) await store.putTenant({ ...tenant, tenantId: id });
    const runtime = createRuntime(store, { tenantCacheMs: 60_000, tenantCacheSize: 2, clock: () => 1_000 });
    await runtime.loadTenant("t-a");
    await runtime.loadTenant("t-b");
    await runtime.loadTenant("t-a"); // t-a is now the most recently used
    await runtime.loadTenant("t-c"); // evicts t-b
    const before = reads();
    await runtime.loadTenant("t-a");
    expect(reads()).toBe(before);
    await runtime.loadTenant("t-b");
    expect(reads()).toBe(before + 1);
    expect(runtime.tenantCache?.known.size).toBe(2);
  });
});
