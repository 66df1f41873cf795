import { readdirSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { CPQ_EVENT_TYPES, CRM_EVENT_TYPES } from "../../domain/events.js";
import { localExtraRoutes } from "../../local/extra-routes.js";
import { createLocalHttpServer } from "../../local/http-adapter.js";
import { localRoutes } from "../../local/routes.js";
import { renderOpenApi } from "../../scripts/openapi.js";
import { eventComponentName } from "../../scripts/openapi-document.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const committed = readFileSync(`${root}openapi.json`, "utf8");
const doc = JSON.parse(committed) as {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { examples?: object }> } }>>;
  components: { schemas: Record<string, unknown> };
};

describe("openapi.json", () => {
  it("is what the zod schemas generate today (else run npm run openapi)", () => {
    expect(committed === renderOpenApi(), "openapi.json is stale: run npm run openapi").toBe(true);
  });

  it("validates as an OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("the validator refuses a document that breaks the 3.1 schema", async () => {
    const broken = structuredClone(doc) as Record<string, unknown>;
    delete broken.info;
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it("documents every route the functions serve", () => {
    for (const route of localRoutes) {
      expect(
        doc.paths[route.path]?.[route.method.toLowerCase()],
        `${route.method} ${route.path}`,
      ).toBeDefined();
    }
  });

  it("has a schema and a request example for every event type", () => {
    const examples = (path: string) =>
      Object.keys(doc.paths[path]?.post?.requestBody?.content["application/json"]?.examples ?? {});
    for (const type of CRM_EVENT_TYPES) {
      expect(doc.components.schemas[eventComponentName(type)]).toBeDefined();
      expect(examples("/webhooks/crm/{tenantId}")).toContain(type);
    }
    for (const type of CPQ_EVENT_TYPES) {
      expect(doc.components.schemas[eventComponentName(type)]).toBeDefined();
      expect(examples("/webhooks/cpq/{tenantId}")).toContain(type);
    }
    for (const name of [
      "SyncResponse",
      "Mirror",
      "MirrorLine",
      "SyncStatus",
      "OutboxPage",
      "AuditPage",
      "ErrorBody",
    ]) {
      expect(doc.components.schemas[name], name).toBeDefined();
    }
  });

  it("lists the example files it was built from", () => {
    const files = [...readdirSync(`${root}examples/crm`), ...readdirSync(`${root}examples/cpq`)];
    expect(files.map((file) => file.replace(/\.json$/, "")).sort()).toEqual(
      [...CRM_EVENT_TYPES, ...CPQ_EVENT_TYPES].sort(),
    );
  });

  it("is served by the local server at GET /openapi.json", async () => {
    const server = createLocalHttpServer({ routes: [], extraRoutes: localExtraRoutes });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/openapi.json`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/json");
      expect(await response.text()).toBe(committed);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
