import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { ZodType } from "zod";
import { lineTotal } from "../../../domain/decimal.js";
import { signV3 } from "../signature.js";
import {
  AssociationsBatchReadInput,
  BatchArchiveInput,
  BatchCreateInput,
  BatchReadInput,
  BatchUpdateInput,
  GetObjectQuery,
  ObjectPatchInput,
  PropertyCreateInput,
  SearchInput,
  TokenRequest,
} from "./request-schemas.js";

/**
 * A fake HubSpot portal for tests, `npm start` and the demo: the CRM endpoints quotesync uses, with
 * HubSpot's shapes (facts A1–A4): property values as strings, 207 with `errors` for partial batch
 * failures, 204 on archive, `VALIDATION_ERROR` bodies, 429 with `X-HubSpot-RateLimit-*` headers
 * past 100 requests in 10 s, one parent per line item, a quote copying its deal's line items once
 * at creation, published quotes locked. Every change is sent to quotesync as a signed v3 webhook:
 * `changeSource: INTEGRATION` with the app id for API writes, `CRM_UI` for "user" edits made
 * through the `/_fake/…` routes. Every API request is checked against the request schemas derived
 * from HubSpot's OpenAPI documents (`request-schemas.ts`); violations are kept for tests to fail on.
 */

export type FakeObjectType = "deals" | "quotes" | "line_items";

interface FakeObject {
  id: string;
  properties: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  /** Line items only: the one parent. */
  parent?: { type: "deals" | "quotes"; id: string };
  /** Quotes only: the deal. */
  dealId?: string;
}

export interface FakeCall {
  method: string;
  path: string;
  status: number;
  inputs: number;
  at: number;
}

export interface FakeHubSpotOptions {
  portalId: number;
  appId: number;
  clientSecret: string;
  accessToken: string;
  /** Where webhooks go (quotesync's `/connectors/hubspot`); none: no webhooks are sent. */
  webhookUrl?: string;
  /** Requests per 10 s before 429 (HubSpot private apps: 100). */
  requestsPer10Seconds?: number;
  /** Answer this share of API calls with 429 regardless of the budget (load tests). */
  failRate?: number;
  random?: () => number;
  now?: () => number;
  /** Send webhooks on their own (`npm start`, the demo); tests call `flushWebhooks()` instead. */
  autoFlush?: boolean;
  /** A public app installed on the portal: `POST /oauth/v1/token` serves access tokens for it. */
  oauth?: { clientId: string; clientSecret: string; refreshToken: string; expiresInSeconds?: number };
}

const OBJECT_TYPE_IDS: Record<FakeObjectType, string> = { deals: "0-3", quotes: "0-14", line_items: "0-8" };
const ALIASES: Record<string, FakeObjectType> = {
  deals: "deals",
  "0-3": "deals",
  deal: "deals",
  quotes: "quotes",
  "0-14": "quotes",
  quote: "quotes",
  line_items: "line_items",
  "0-8": "line_items",
  line_item: "line_items",
};

export class FakeHubSpot {
  readonly objects: Record<FakeObjectType, Map<string, FakeObject>> = {
    deals: new Map(),
    quotes: new Map(),
    line_items: new Map(),
  };
  readonly calls: FakeCall[] = [];
  readonly violations: string[] = [];
  readonly properties = new Map<string, Record<string, unknown>>();
  readonly webhookResponses: number[] = [];
  /** How long quotesync took to answer each webhook request (ms). */
  readonly webhookDurations: number[] = [];
  /** Every change made, in order: what a portal's property history would show. */
  readonly history: Array<{
    type: FakeObjectType;
    id: string;
    at: number;
    source: string;
    properties: Record<string, string>;
  }> = [];
  private pending: Array<Record<string, unknown>> = [];
  private nextId = 1000;
  private nextEventId = 1;
  private server: http.Server | undefined;
  private readonly grants: number[] = [];
  /** OAuth access tokens handed out, with when each expires. */
  private readonly issued = new Map<string, number>();
  private flushing: Promise<void> = Promise.resolve();
  url = "";

  constructor(readonly options: FakeHubSpotOptions) {}

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  async listen(port = 0): Promise<string> {
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch((error: unknown) => {
        this.violations.push(`internal: ${(error as Error).message}`);
        send(res, 500, { status: "error", message: (error as Error).message, category: "INTERNAL" });
      });
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  setWebhookUrl(url: string): void {
    this.options.webhookUrl = url;
  }

  // --- "user" actions (also reachable over HTTP under /_fake) ------------------------------------

  createDeal(properties: Record<string, string>, source: ChangeSource = USER): string {
    const deal = this.insert("deals", { dealstage: "appointmentscheduled", ...properties }, source);
    return deal.id;
  }

  addLineItem(
    parent: { type: "deals" | "quotes"; id: string },
    properties: Record<string, string>,
    source: ChangeSource = USER,
  ): string {
    const item = this.insert("line_items", properties, source, { parent });
    return item.id;
  }

  /** A quote on a deal: HubSpot copies the deal's line items into it, once, now. */
  createQuote(dealId: string, properties: Record<string, string>, source: ChangeSource = USER): string {
    const quote = this.insert(
      "quotes",
      {
        hs_status: "DRAFT",
        hs_locked: "false",
        hs_currency: this.objects.deals.get(dealId)?.properties.deal_currency_code ?? "USD",
        ...properties,
      },
      source,
      { dealId },
    );
    for (const item of [...this.objects.line_items.values()]) {
      if (item.parent?.type === "deals" && item.parent.id === dealId) {
        const { quotesync_sync_key: _key, ...copied } = item.properties;
        this.insert("line_items", copied, source, { parent: { type: "quotes", id: quote.id } });
      }
    }
    return quote.id;
  }

  /** A user sets properties (a quote's `hs_status`, a deal line's quantity…). */
  update(
    type: FakeObjectType,
    id: string,
    properties: Record<string, string>,
    source: ChangeSource = USER,
  ): void {
    const object = this.objects[type].get(id);
    if (!object) throw new Error(`${type} ${id} not found`);
    if (type === "quotes" && properties.hs_status) {
      const published = ["APPROVED", "APPROVAL_NOT_NEEDED", "ACCEPTED"].includes(properties.hs_status);
      properties = { ...properties, hs_locked: String(published) };
    }
    this.change(type, object, properties, source);
  }

  /** A user deletes a record; a deal or quote takes its line items with it (their events first). */
  remove(type: FakeObjectType, id: string, source: ChangeSource = USER): void {
    if (type !== "line_items") {
      for (const item of [...this.objects.line_items.values()]) {
        if (item.parent?.type === type && item.parent.id === id) this.remove("line_items", item.id, source);
      }
    }
    if (this.objects[type].delete(id)) this.emit(type, "deletion", id, source);
  }

  lineItemsOf(type: "deals" | "quotes", id: string): FakeObject[] {
    return [...this.objects.line_items.values()].filter(
      (item) => item.parent?.type === type && item.parent.id === id,
    );
  }

  /** Sends the queued webhooks (≤ 100 events a request) and waits for quotesync's answers. */
  async flushWebhooks(): Promise<number> {
    let sent = 0;
    const run = async () => {
      // What is pending now: events its answers cause (quotesync's writes) wait for the next flush,
      // as they would for HubSpot's next webhook request.
      const due = this.pending.splice(0);
      while (due.length > 0) {
        const batch = due.splice(0, 100);
        sent += batch.length;
        // HubSpot retries a request that got no 2xx (up to 10 times, facts A1), as attemptNumber 1…
        for (let attempt = 0; attempt <= 10; attempt++) {
          const status = await this.post(batch.map((event) => ({ ...event, attemptNumber: attempt })));
          if (status >= 200 && status < 300) break;
        }
      }
    };
    this.flushing = this.flushing.then(run, run);
    await this.flushing;
    return sent;
  }

  /** Re-sends webhooks as HubSpot's retries do (tests of duplicates). */
  async deliver(events: Array<Record<string, unknown>>): Promise<number> {
    return this.post(events);
  }

  get queuedEvents(): ReadonlyArray<Record<string, unknown>> {
    return this.pending;
  }

  takeQueuedEvents(): Array<Record<string, unknown>> {
    return this.pending.splice(0);
  }

  private async post(events: Array<Record<string, unknown>>): Promise<number> {
    const target = this.options.webhookUrl;
    if (!target) return 0;
    const body = JSON.stringify(events);
    const timestamp = String(this.now);
    const signature = signV3({
      secret: this.options.clientSecret,
      method: "POST",
      uri: target,
      body,
      timestamp,
    });
    const started = performance.now();
    const response = await fetch(target, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-hubspot-signature-v3": signature,
        "x-hubspot-request-timestamp": timestamp,
      },
      body,
    });
    await response.arrayBuffer();
    this.webhookDurations.push(performance.now() - started);
    this.webhookResponses.push(response.status);
    return response.status;
  }

  // --- store --------------------------------------------------------------------------------------

  private insert(
    type: FakeObjectType,
    properties: Record<string, string>,
    source: ChangeSource,
    links: { parent?: FakeObject["parent"]; dealId?: string } = {},
  ): FakeObject {
    const at = new Date(this.now).toISOString();
    const id = String(this.nextId++);
    const object: FakeObject = {
      id,
      properties: { ...properties, hs_object_id: id, createdate: at },
      createdAt: at,
      updatedAt: at,
      ...links,
    };
    if (type === "line_items") object.properties.amount = lineAmount(object.properties);
    this.objects[type].set(id, object);
    this.emit(type, "creation", id, source);
    return object;
  }

  private change(
    type: FakeObjectType,
    object: FakeObject,
    properties: Record<string, string>,
    source: ChangeSource,
  ): void {
    const changed: string[] = [];
    for (const [name, value] of Object.entries(properties)) {
      if ((object.properties[name] ?? "") === value) continue;
      object.properties[name] = value;
      changed.push(name);
    }
    if (changed.length === 0) return;
    this.history.push({
      type,
      id: object.id,
      at: this.now,
      source: source.changeSource,
      properties: Object.fromEntries(changed.map((name) => [name, object.properties[name] ?? ""])),
    });
    object.updatedAt = new Date(this.now).toISOString();
    if (type === "line_items") object.properties.amount = lineAmount(object.properties);
    // One subscription per property: one event per changed property.
    for (const name of changed)
      this.emit(type, "propertyChange", object.id, source, name, object.properties[name]);
  }

  private emit(
    type: FakeObjectType,
    change: string,
    objectId: string,
    source: ChangeSource,
    propertyName?: string,
    propertyValue?: string,
  ): void {
    if (!this.options.webhookUrl) return;
    const legacy = type === "deals" ? "deal" : type === "line_items" ? "line_item" : null;
    const event: Record<string, unknown> = {
      eventId: this.nextEventId++,
      subscriptionId: 1000 + Object.keys(OBJECT_TYPE_IDS).indexOf(type),
      portalId: this.options.portalId,
      appId: this.options.appId,
      occurredAt: this.now,
      subscriptionType: legacy ? `${legacy}.${change}` : `object.${change}`,
      attemptNumber: 0,
      objectId: Number(objectId),
      changeFlag: change === "creation" ? "CREATED" : change === "deletion" ? "DELETED" : "UPDATED",
      changeSource: source.changeSource,
      sourceId: source.sourceId,
    };
    if (!legacy) event.objectTypeId = OBJECT_TYPE_IDS[type];
    if (propertyName !== undefined) {
      event.propertyName = propertyName;
      event.propertyValue = propertyValue ?? "";
    }
    this.pending.push(event);
    if (this.options.autoFlush) setTimeout(() => void this.flushWebhooks().catch(() => undefined), 20);
  }

  // --- HTTP ---------------------------------------------------------------------------------------

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const raw = await readBody(req);
    const method = req.method ?? "GET";
    if (url.pathname.startsWith("/_fake/")) return this.routeUser(method, url, raw, res);
    const record = (status: number, inputs = 0) =>
      this.calls.push({ method, path: url.pathname, status, inputs, at: this.now });
    if (method === "POST" && url.pathname === "/oauth/v1/token") {
      const answer = this.token(req.headers["content-type"], raw);
      record(answer.status);
      return send(res, answer.status, answer.body);
    }

    const refused = this.authenticate(req.headers.authorization);
    if (refused) {
      record(401);
      return send(res, 401, refused);
    }
    if (this.limited()) {
      record(429);
      return sendRateLimited(res, this.options.requestsPer10Seconds ?? 100);
    }
    const request = this.apiRequest(method, url, raw, res, record);
    const { parts } = request;
    if (parts[0] === "crm" && parts[1] === "v3" && parts[2] === "objects" && parts[3]) {
      if (this.routeObjects(request, parts[3])) return;
    }
    if (
      method === "POST" &&
      parts[0] === "crm" &&
      parts[1] === "v4" &&
      parts[2] === "associations" &&
      parts[5] === "batch" &&
      parts[6] === "read"
    )
      return this.readAssociations(request, parts[3] ?? "", parts[4] ?? "");
    if (
      method === "POST" &&
      parts[0] === "crm" &&
      parts[1] === "v3" &&
      parts[2] === "properties" &&
      parts[3] &&
      !parts[4]
    )
      return this.createProperty(request, parts[3]);
    this.violations.push(`${method} ${url.pathname}: not an endpoint quotesync may use`);
    return request.answer(404, error("NOT_FOUND", `no such endpoint: ${method} ${url.pathname}`));
  }

  /** An authenticated API request within the rate limit, with the ways its endpoint answers it. */
  private apiRequest(
    method: string,
    url: URL,
    raw: string,
    res: http.ServerResponse,
    record: (status: number, inputs?: number) => void,
  ): ApiRequest {
    return {
      method,
      url,
      res,
      record,
      body: raw ? safeJson(raw) : undefined,
      parts: url.pathname.split("/").filter(Boolean),
      check: <T>(schema: ZodType<T>, value: unknown): T | null => {
        const parsed = schema.safeParse(value);
        if (parsed.success) return parsed.data;
        const message = `${method} ${url.pathname}: ${parsed.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`).join("; ")}`;
        this.violations.push(message);
        record(400);
        send(res, 400, error("VALIDATION_ERROR", message));
        return null;
      },
      answer: (status: number, payload: unknown, inputs = 0) => {
        record(status, inputs);
        send(res, status, payload);
      },
    };
  }

  /**
   * `/crm/v3/objects/{type}/batch/{op}`, `/crm/v3/objects/line_items/search` and
   * `/crm/v3/objects/{deals|quotes}/{id}`; false when the path names none of them.
   */
  private routeObjects(request: ApiRequest, typeName: string): boolean {
    const { method, parts } = request;
    const type = ALIASES[typeName];
    if (!type) {
      request.answer(404, error("OBJECT_NOT_FOUND", `unknown object type ${typeName}`));
      return true;
    }
    const batchOperation = parts[4] === "batch" ? parts[5] : undefined;
    if (method === "POST" && batchOperation === "read") {
      this.batchRead(request, type);
      return true;
    }
    if (method === "POST" && type === "line_items") {
      if (batchOperation === "create") this.createLineItems(request);
      else if (batchOperation === "update") this.updateLineItems(request);
      else if (batchOperation === "archive") this.archiveLineItems(request);
      else if (parts[4] === "search") this.searchLineItems(request);
      else return false;
      return true;
    }
    if ((type === "deals" || type === "quotes") && parts[4] && !parts[5] && parts[4] !== "batch") {
      const object = this.objects[type].get(decodeURIComponent(parts[4]));
      if (method === "GET") {
        this.getRecord(request, type, parts[4], object);
        return true;
      }
      if (method === "PATCH") {
        this.patchRecord(request, type, parts[4], object);
        return true;
      }
    }
    return false;
  }

  private batchRead(request: ApiRequest, type: FakeObjectType) {
    const input = request.check(BatchReadInput, request.body);
    if (!input) return;
    const results = [];
    const missing: string[] = [];
    for (const { id } of input.inputs) {
      const object = this.objects[type].get(id);
      if (object) results.push(view(object, input.properties));
      else missing.push(id);
    }
    return answerBatch(request, results, missing, input.inputs.length);
  }

  private createLineItems(request: ApiRequest) {
    const input = this.lineItemBatch(request, BatchCreateInput);
    if (!input) return;
    const results = [];
    const errors = [];
    for (const item of input.inputs) {
      const association = item.associations[0];
      const typeId = association?.types[0]?.associationTypeId;
      const parentType = typeId === 20 ? "deals" : typeId === 68 ? "quotes" : null;
      const parentId = association?.to.id ?? "";
      const parent = parentType ? this.objects[parentType].get(parentId) : undefined;
      if (item.associations.length !== 1 || !parentType || !parent) {
        errors.push(
          validation(
            `line items belong to one existing deal (20) or quote (68); got ${JSON.stringify(item.associations)}`,
          ),
        );
        continue;
      }
      if (parentType === "quotes" && parent.properties.hs_locked === "true") {
        errors.push(validation(`quote ${parentId} is published and locked; set hs_status to DRAFT first`));
        continue;
      }
      const created = this.insert("line_items", strings(item.properties), this.api, {
        parent: { type: parentType, id: parentId },
      });
      results.push(view(created));
    }
    return request.answer(errors.length > 0 ? 207 : 201, batch(results, errors), input.inputs.length);
  }

  private updateLineItems(request: ApiRequest) {
    const input = this.lineItemBatch(request, BatchUpdateInput);
    if (!input) return;
    const results = [];
    const missing: string[] = [];
    for (const item of input.inputs) {
      const object = this.objects.line_items.get(item.id);
      if (!object) {
        missing.push(item.id);
        continue;
      }
      const parent = object.parent && this.objects[object.parent.type].get(object.parent.id);
      if (parent?.properties.hs_locked === "true") {
        return request.answer(
          400,
          error("VALIDATION_ERROR", `line item ${item.id} is on a locked quote`),
          input.inputs.length,
        );
      }
      this.change("line_items", object, strings(item.properties), this.api);
      results.push(view(object));
    }
    return answerBatch(request, results, missing, input.inputs.length);
  }

  private archiveLineItems(request: ApiRequest) {
    const input = request.check(BatchArchiveInput, request.body);
    if (!input) return;
    for (const { id } of input.inputs)
      if (this.objects.line_items.has(id)) this.remove("line_items", id, this.api);
    request.record(204, input.inputs.length);
    request.res.writeHead(204).end();
  }

  private searchLineItems(request: ApiRequest) {
    const input = request.check(SearchInput, request.body);
    if (!input) return;
    const filters = input.filterGroups.flatMap((group) => group.filters);
    const results = [...this.objects.line_items.values()]
      .filter((item) =>
        filters.every(
          (filter) => filter.operator !== "EQ" || item.properties[filter.propertyName] === filter.value,
        ),
      )
      .slice(0, input.limit)
      .map((item) => view(item, input.properties));
    return request.answer(200, { total: results.length, results });
  }

  /** `GET /crm/v3/objects/{deals|quotes}/{id}`, with the properties and associations asked for. */
  private getRecord(
    request: ApiRequest,
    type: "deals" | "quotes",
    idInPath: string,
    object: FakeObject | undefined,
  ) {
    const query = request.check(GetObjectQuery, Object.fromEntries(request.url.searchParams));
    if (!query) return;
    if (!object) return request.answer(404, error("OBJECT_NOT_FOUND", `${type} ${idInPath} not found`));
    const shown = view(object, query.properties?.split(",").filter(Boolean)) as Record<string, unknown>;
    const associations: Record<string, unknown> = {};
    for (const to of query.associations?.split(",").filter(Boolean) ?? []) {
      const ids =
        to === "line_items"
          ? this.lineItemsOf(type, object.id).map((item) => item.id)
          : to === "deals" && object.dealId
            ? [object.dealId]
            : [];
      // HubSpot answers `line_items` under "line items", with a space.
      associations[to === "line_items" ? "line items" : to] = {
        results: ids.map((id) => ({ id, type: `${type === "deals" ? "deal" : "quote"}_to_${to}` })),
      };
    }
    if (Object.keys(associations).length > 0) shown.associations = associations;
    return request.answer(200, shown);
  }

  /** `PATCH /crm/v3/objects/{deals|quotes}/{id}`: a published quote takes only a change of `hs_status`. */
  private patchRecord(
    request: ApiRequest,
    type: "deals" | "quotes",
    idInPath: string,
    object: FakeObject | undefined,
  ) {
    const input = request.check(ObjectPatchInput, request.body);
    if (!input) return;
    if (!object) return request.answer(404, error("OBJECT_NOT_FOUND", `${type} ${idInPath} not found`));
    const invalid = this.invalidProperties(type, [input.properties]);
    if (invalid) return request.answer(400, invalid);
    const properties = strings(input.properties);
    if (type === "quotes" && object.properties.hs_locked === "true" && !("hs_status" in properties)) {
      return request.answer(
        400,
        error("VALIDATION_ERROR", "This quote is published and locked. Update hs_status to modify it."),
      );
    }
    this.change(type, object, properties, this.api);
    return request.answer(200, view(object));
  }

  /** `POST /crm/v4/associations/{from}/{to}/batch/read`. */
  private readAssociations(request: ApiRequest, fromName: string, toName: string) {
    const from = ALIASES[fromName];
    const to = ALIASES[toName];
    const input = request.check(AssociationsBatchReadInput, request.body);
    if (!input) return;
    if (!from || !to) return request.answer(400, error("VALIDATION_ERROR", "unknown object types"));
    const results = [];
    for (const { id } of input.inputs) {
      const ids = this.associated(from, id, to);
      if (ids === null) continue;
      const typeId = associationTypeId(from, to);
      results.push({
        from: { id },
        to: ids.map((toObjectId) => ({
          toObjectId: Number(toObjectId),
          associationTypes: [{ category: "HUBSPOT_DEFINED", typeId, label: null }],
        })),
      });
    }
    return request.answer(200, batch(results, []), input.inputs.length);
  }

  /** `POST /crm/v3/properties/{objectType}`: 409 when the property exists. */
  private createProperty(request: ApiRequest, typeName: string) {
    const input = request.check(PropertyCreateInput, request.body);
    if (!input) return;
    const key = `${ALIASES[typeName] ?? typeName}/${input.name}`;
    if (this.properties.has(key))
      return request.answer(409, error("OBJECT_ALREADY_EXISTS", `Property ${input.name} already exists`));
    this.properties.set(key, input);
    return request.answer(201, { ...input, createdAt: new Date(this.now).toISOString(), archived: false });
  }

  /**
   * HubSpot refuses a write naming a property the portal does not define, or a value its type does
   * not take (400 `VALIDATION_ERROR`, "Property values were not valid"). The fake knows the
   * standard properties as HubSpot does; quotesync's own (`quotesync_*`) exist only once
   * `setup-properties` created them, with the type it gave them.
   */
  /** A line-item batch body as `schema` reads it, with valid properties; null once refused (answered). */
  private lineItemBatch<
    T extends { inputs: Array<{ properties: Record<string, string | number | boolean> }> },
  >(request: ApiRequest, schema: ZodType<T>): T | null {
    const input = request.check(schema, request.body);
    if (!input) return null;
    const invalid = this.invalidProperties(
      "line_items",
      input.inputs.map((item) => item.properties),
    );
    if (!invalid) return input;
    request.answer(400, invalid, input.inputs.length);
    return null;
  }

  private invalidProperties(
    type: FakeObjectType,
    inputs: ReadonlyArray<Record<string, string | number | boolean>>,
  ): Record<string, unknown> | null {
    const problems: Array<{ name: string; error: string; message: string }> = [];
    for (const properties of inputs) {
      for (const [name, value] of Object.entries(properties)) {
        if (!name.startsWith("quotesync_")) continue;
        const definition = this.properties.get(`${type}/${name}`);
        const text = String(value);
        if (!definition) {
          problems.push({
            name,
            error: "PROPERTY_DOESNT_EXIST",
            message: `Property "${name}" does not exist`,
          });
        } else if (definition.type === "number" && text !== "" && !/^-?\d+(\.\d+)?$/.test(text)) {
          problems.push({ name, error: "INVALID_FLOAT", message: `${text} was not a valid number.` });
        } else if (definition.type === "bool" && text !== "" && text !== "true" && text !== "false") {
          problems.push({
            name,
            error: "INVALID_OPTION",
            message: `${text} was not one of the allowed options`,
          });
        }
      }
    }
    if (problems.length === 0) return null;
    const detail = problems.map((problem) => ({ isValid: false, ...problem }));
    const message = `Property values were not valid: ${JSON.stringify(detail)}`;
    this.violations.push(`${type}: ${message}`);
    return error("VALIDATION_ERROR", message);
  }

  /** `POST /oauth/v1/token` with `grant_type=refresh_token` (HubSpot's OAuth tokens API, v1). */
  private token(contentType: string | undefined, raw: string): { status: number; body: unknown } {
    const oauth = this.options.oauth;
    if (!contentType?.startsWith("application/x-www-form-urlencoded")) {
      this.violations.push(`POST /oauth/v1/token: content-type ${contentType ?? "none"}, not form-encoded`);
      return { status: 400, body: { status: "BAD_REQUEST", message: "expected a form-encoded body" } };
    }
    const form = TokenRequest.safeParse(Object.fromEntries(new URLSearchParams(raw)));
    if (!form.success) {
      this.violations.push(
        `POST /oauth/v1/token: ${form.error.issues.map((issue) => issue.message).join("; ")}`,
      );
      return { status: 400, body: { status: "BAD_REQUEST", message: "missing or invalid parameters" } };
    }
    if (!oauth || form.data.client_id !== oauth.clientId || form.data.client_secret !== oauth.clientSecret) {
      return { status: 400, body: { status: "BAD_CLIENT_ID", message: "missing or invalid client id" } };
    }
    if (form.data.grant_type !== "refresh_token" || form.data.refresh_token !== oauth.refreshToken) {
      return {
        status: 400,
        body: { status: "BAD_REFRESH_TOKEN", message: "missing or invalid refresh token" },
      };
    }
    const expiresIn = oauth.expiresInSeconds ?? 1800;
    const accessToken = `oat-${randomUUID()}`;
    this.issued.set(accessToken, this.now + expiresIn * 1000);
    return {
      status: 200,
      body: {
        token_type: "bearer",
        refresh_token: oauth.refreshToken,
        access_token: accessToken,
        expires_in: expiresIn,
      },
    };
  }

  /** null when the bearer token is the private app's or an OAuth token not yet expired; else the 401 body. */
  private authenticate(header: string | undefined): Record<string, unknown> | null {
    const token = header?.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
    if (token === this.options.accessToken) return null;
    const expiresAt = this.issued.get(token);
    if (expiresAt === undefined)
      return error("INVALID_AUTHENTICATION", "Authentication credentials not found.");
    if (expiresAt > this.now) return null;
    const minutes = Math.floor((this.now - expiresAt) / 60_000);
    return error(
      "EXPIRED_AUTHENTICATION",
      `The OAuth token used to make this call expired ${minutes} minute(s) ago.`,
    );
  }

  private associated(from: FakeObjectType, id: string, to: FakeObjectType): string[] | null {
    const object = this.objects[from].get(id);
    if (!object) return null;
    if (from === "line_items") return object.parent?.type === to ? [object.parent.id] : [];
    if (to === "line_items") return this.lineItemsOf(from, id).map((item) => item.id);
    if (from === "quotes" && to === "deals") return object.dealId ? [object.dealId] : [];
    if (from === "deals" && to === "quotes")
      return [...this.objects.quotes.values()]
        .filter((quote) => quote.dealId === id)
        .map((quote) => quote.id);
    return [];
  }

  private limited(): boolean {
    const now = this.now;
    while (this.grants.length > 0 && (this.grants[0] ?? 0) <= now - 10_000) this.grants.shift();
    if (this.grants.length >= (this.options.requestsPer10Seconds ?? 100)) return true;
    this.grants.push(now);
    return (
      (this.options.failRate ?? 0) > 0 &&
      (this.options.random ?? Math.random)() < (this.options.failRate ?? 0)
    );
  }

  private get api(): ChangeSource {
    return { changeSource: "INTEGRATION", sourceId: String(this.options.appId) };
  }

  /** `/_fake/…`: what a HubSpot user does in the UI, for tests and the demo. */
  private async routeUser(method: string, url: URL, raw: string, res: http.ServerResponse): Promise<void> {
    const body = (raw ? safeJson(raw) : {}) as Record<string, unknown>;
    const properties = (body.properties ?? {}) as Record<string, string>;
    const parts = url.pathname.split("/").filter(Boolean);
    try {
      if (method === "POST" && parts[1] === "deals" && parts.length === 2)
        return send(res, 201, { id: this.createDeal(properties) });
      if (method === "POST" && parts[1] === "deals" && parts[3] === "line_items")
        return send(res, 201, { id: this.addLineItem({ type: "deals", id: parts[2] ?? "" }, properties) });
      if (method === "POST" && parts[1] === "deals" && parts[3] === "quotes")
        return send(res, 201, { id: this.createQuote(parts[2] ?? "", properties) });
      if (method === "POST" && parts[1] === "quotes" && parts[3] === "line_items")
        return send(res, 201, { id: this.addLineItem({ type: "quotes", id: parts[2] ?? "" }, properties) });
      const type = ALIASES[parts[1] ?? ""];
      if (type && parts[2] && method === "PATCH") {
        this.update(type, parts[2], properties);
        return send(res, 200, { id: parts[2] });
      }
      if (type && parts[2] && method === "DELETE") {
        this.remove(type, parts[2]);
        res.writeHead(204).end();
        return;
      }
      if (type && parts[2] && method === "GET") {
        const object = this.objects[type].get(parts[2]);
        if (!object) return send(res, 404, error("OBJECT_NOT_FOUND", "not found"));
        const lineItems =
          type === "line_items" ? [] : this.lineItemsOf(type, object.id).map((item) => view(item));
        return send(res, 200, { ...view(object), lineItems });
      }
      if (method === "POST" && parts[1] === "flush")
        return send(res, 200, { sent: await this.flushWebhooks() });
    } catch (caught) {
      return send(res, 404, error("OBJECT_NOT_FOUND", (caught as Error).message));
    }
    send(res, 404, error("NOT_FOUND", "no such fake route"));
  }
}

/** An authenticated API request within the rate limit, as the endpoint handlers see it. */
interface ApiRequest {
  method: string;
  url: URL;
  /** The path's segments: `crm`, `v3`, `objects`, `line_items`, `batch`, `create`. */
  parts: string[];
  /** The JSON body; its text when it is not JSON, undefined when empty. */
  body: unknown;
  res: http.ServerResponse;
  /** Keeps the call in `calls`. */
  record(status: number, inputs?: number): void;
  /** The value when the schema takes it; else null, the request answered 400 and the violation kept. */
  check<T>(schema: ZodType<T>, value: unknown): T | null;
  /** Records the call and sends the JSON answer. */
  answer(status: number, payload: unknown, inputs?: number): void;
}

export interface ChangeSource {
  changeSource: string;
  sourceId: string;
}
const USER: ChangeSource = { changeSource: "CRM_UI", sourceId: "userId:45678" };

function associationTypeId(from: FakeObjectType, to: FakeObjectType): number {
  const table: Record<string, number> = {
    "line_items>deals": 20,
    "deals>line_items": 19,
    "line_items>quotes": 68,
    "quotes>line_items": 67,
    "quotes>deals": 64,
    "deals>quotes": 63,
  };
  return table[`${from}>${to}`] ?? 0;
}

function view(object: FakeObject, properties?: readonly string[]): Record<string, unknown> {
  const shown: Record<string, string> = {};
  const names =
    properties && properties.length > 0
      ? [...properties, "hs_object_id", "createdate", "hs_lastmodifieddate"]
      : Object.keys(object.properties);
  for (const name of names) if (name in object.properties) shown[name] = object.properties[name] ?? "";
  shown.hs_lastmodifieddate = object.updatedAt;
  return {
    id: object.id,
    properties: shown,
    createdAt: object.createdAt,
    updatedAt: object.updatedAt,
    archived: false,
  };
}

function batch(results: unknown[], errors: unknown[]): Record<string, unknown> {
  const at = new Date().toISOString();
  return {
    status: "COMPLETE",
    results,
    ...(errors.length > 0 ? { errors, numErrors: errors.length } : {}),
    startedAt: at,
    completedAt: at,
  };
}

function notFound(ids: string[]): Record<string, unknown> {
  return {
    status: "error",
    category: "OBJECT_NOT_FOUND",
    message: `Could not get some objects, they may be deleted or not exist. Check that ids are valid.`,
    context: { ids },
    errors: [],
    links: {},
  };
}

function validation(message: string): Record<string, unknown> {
  return { status: "error", category: "VALIDATION_ERROR", message, context: {}, errors: [], links: {} };
}

function error(category: string, message: string): Record<string, unknown> {
  return { status: "error", message, correlationId: randomUUID(), category };
}

/** HubSpot stores every value as a string. */
function strings(properties: Record<string, string | number | boolean>): Record<string, string> {
  return Object.fromEntries(Object.entries(properties).map(([name, value]) => [name, String(value)]));
}

/** `amount` is HubSpot's: quantity × price less the discount (for display; quotesync never writes it). */
function lineAmount(properties: Record<string, string>): string {
  try {
    return lineTotal({
      quantity: properties.quantity || "0",
      unitPrice: properties.price || "0",
      discountPercent: properties.hs_discount_percentage || "0",
      currency: "USD",
    });
  } catch {
    return "0";
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function send(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json;charset=utf-8", ...headers });
  res.end(text);
}

/** 429 past the ten-second budget, with HubSpot's rate-limit headers. */
function sendRateLimited(res: http.ServerResponse, requestsPer10Seconds: number): void {
  send(
    res,
    429,
    {
      status: "error",
      message: "You have reached your ten_secondly_rolling limit.",
      errorType: "RATE_LIMIT",
      correlationId: randomUUID(),
      policyName: "TEN_SECONDLY_ROLLING",
      requestId: randomUUID(),
    },
    {
      "x-hubspot-ratelimit-max": String(requestsPer10Seconds),
      "x-hubspot-ratelimit-remaining": "0",
      "x-hubspot-ratelimit-interval-milliseconds": "10000",
    },
  );
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** A batch answer: 200 with every result, or 207 with the ids not found as its error. */
function answerBatch(request: ApiRequest, results: unknown[], missing: string[], inputs: number) {
  return request.answer(
    missing.length > 0 ? 207 : 200,
    batch(results, missing.length > 0 ? [notFound(missing)] : []),
    inputs,
  );
}
