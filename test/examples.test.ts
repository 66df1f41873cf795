import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CpqEvent, CrmEvent } from "../domain/events.js";
import { TenantConfig } from "../domain/tenant.js";

const dir = fileURLToPath(new URL("../examples/", import.meta.url));
const read = (path: string): unknown => JSON.parse(readFileSync(`${dir}${path}`, "utf8"));

describe("examples/", () => {
  it.each(readdirSync(`${dir}crm`))("crm/%s is a valid CRM event of the type its name says", (file) => {
    const event = CrmEvent.parse(read(`crm/${file}`));
    expect(`${event.type}.json`).toBe(file);
  });

  it.each(readdirSync(`${dir}cpq`))("cpq/%s is a valid CPQ event of the type its name says", (file) => {
    const event = CpqEvent.parse(read(`cpq/${file}`));
    expect(`${event.type}.json`).toBe(file);
  });

  it.each(readdirSync(`${dir}eventbridge`))("eventbridge/%s carries a valid CPQ trigger event", (file) => {
    const delivery = read(`eventbridge/${file}`) as {
      source: string;
      "detail-type": string;
      detail: unknown;
    };
    expect(delivery.source).toBe("cpq");
    expect(CpqEvent.parse(delivery.detail).type).toBe(delivery["detail-type"]);
  });

  it("tenant.json is a valid tenant configuration", () => {
    expect(TenantConfig.parse(read("tenant.json")).tenantId).toBe("acme");
  });
});
