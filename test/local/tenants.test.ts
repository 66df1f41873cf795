import { readFileSync } from "node:fs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setRuntime } from "../../functions/lib/runtime.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { findRoute, routeTable } from "../../local/api-gateway.js";
import { localExtraRoutes } from "../../local/extra-routes.js";
import { createTestTable, dynamoEndpoint, scanAll, type TestTable } from "../support/dynamo.js";

const ROOT = new URL("../..", import.meta.url);
const routes = routeTable(localExtraRoutes);

function put(tenantId: string, body: unknown) {
  const match = findRoute(routes, "PUT", `/local/tenants/${tenantId}`);
  if (!match) throw new Error("no PUT route for the tenant path");
  return match.route.handle(typeof body === "string" ? body : JSON.stringify(body), match.pathParameters);
}

describe("PUT /local/tenants/{tenantId} (the local server)", () => {
  let table: TestTable;
  let store: DynamoSyncStore;
  const saved = { ...process.env };
  const example = JSON.parse(readFileSync(new URL("examples/tenant.json", ROOT), "utf8"));

  beforeAll(async () => {
    table = await createTestTable();
    process.env.TABLE_NAME = table.tableName;
    process.env.DYNAMODB_ENDPOINT = dynamoEndpoint();
    process.env.AWS_REGION = "us-east-1";
    process.env.AWS_ACCESS_KEY_ID = "local";
    process.env.AWS_SECRET_ACCESS_KEY = "local";
    setRuntime(undefined);
    store = new DynamoSyncStore({
      doc: DynamoDBDocumentClient.from(table.client),
      tableName: table.tableName,
    });
  });
  afterAll(async () => {
    setRuntime(undefined);
    process.env = saved;
    await table.dispose();
  });

  it("matches only the tenant path", () => {
    expect(findRoute(routes, "PUT", "/local/tenants/acme")?.pathParameters).toEqual({ tenantId: "acme" });
    expect(findRoute(routes, "PUT", "/local/tenants/acme/x")).toBeUndefined();
  });

  it("registers a tenant with the same validation as tenant put, answering it with credentials masked", async () => {
    const { tenantId: _omitted, ...body } = example;
    const delivery = {
      kind: "webhook",
      url: "http://127.0.0.1:4000/hook",
      secret: "local-delivery-secret-0123",
    };
    const answer = await put("acme", { ...body, connectors: { crm: { kind: "native", delivery } } });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).not.toContain("local-delivery-secret");
    expect(answer.body).not.toContain("replace-with-a-long-random");
    expect(JSON.parse(answer.body).connectors.crm.delivery.secret).toBe("********");
    expect((await store.loadTenant("acme"))?.connectors.crm).toEqual({ kind: "native", delivery });
  });

  it("refuses a bad tenant, a webhook without a secret, a mismatched id and non-JSON, writing nothing", async () => {
    const before = await scanAll(table.tableName);
    const noSecret = await put("bravo", {
      ...example,
      tenantId: "bravo",
      connectors: {
        crm: { kind: "native", delivery: { kind: "webhook", url: "http://127.0.0.1:4000/hook" } },
      },
    });
    expect(noSecret.statusCode).toBe(422);
    expect(JSON.parse(noSecret.body).error.code).toBe("invalid_tenant");
    expect(JSON.parse(noSecret.body).error.message).toContain("connectors.crm.delivery.secret");
    const badField = await put("bravo", { ...example, tenantId: "bravo", policy: { mode: "sometimes" } });
    expect(badField.statusCode).toBe(422);
    expect(JSON.parse(badField.body).error.details[0].path).toEqual(["policy", "mode"]);
    expect((await put("bravo", { ...example, tenantId: "charlie" })).statusCode).toBe(422);
    expect((await put("Bad%20Id", { ...example, tenantId: undefined })).statusCode).toBe(422);
    expect((await put("bravo", "{not json")).statusCode).toBe(400);
    expect(await scanAll(table.tableName)).toEqual(before);
  });
});
