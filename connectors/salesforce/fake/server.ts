import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { z } from "zod";
import {
  type ChangeEventPayload,
  type Committer,
  FakeOrg,
  type FakeOrgOptions,
  InvalidQuery,
  type SfRecord,
  serializeRecord,
  stringifyWithNumbers,
} from "./org.js";
import {
  CallOptionsHeader,
  COLLECTION_LIMIT,
  CollectionCreateRequest,
  CollectionUpdateRequest,
  RowUpdateRequest,
  TokenRequest,
} from "./schemas.js";
import { parseSoql, SoqlSyntaxError } from "./soql.js";

/** An EventBridge event as Event Relay puts it on the partner bus (facts file B1). */
export interface RelayedEvent {
  version: "0";
  id: string;
  "detail-type": string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: { payload: ChangeEventPayload; schemaId: string; id: string };
}

/** One API call the fake served, for tests to count and inspect. */
export interface ServedCall {
  method: string;
  path: string;
  status: number;
  /** Records a collection call carried (ids for a delete). */
  records: number;
  callOptions: string | null;
}

export interface FakeSalesforceOptions extends FakeOrgOptions {
  /** The connected app quotesync uses and the user it runs as. */
  clientId: string;
  clientSecret: string;
  integrationUserId: string;
  /** The Event Relay channel id in the partner event source name. */
  channelId?: string;
  /** Where relayed events go: a callback (tests) or quotesync's `POST /local/events`. */
  relay?: { onEvent?: (event: RelayedEvent) => Promise<void> | void; url?: string };
  /** A user id for edits made through `userEdit` (a rep in the UI). */
  repUserId?: string;
}

const UI_ORIGIN = "com/salesforce/api/soap/62.0;client=SfdcInternalAPI/";

/**
 * A fake Salesforce on node:http: the OAuth token endpoint (client credentials), SOQL queries,
 * sObject Collections and the opportunity row update — validated against schemas from Salesforce's
 * documents — and Event Relay–shaped change events for every change, to a callback or over HTTP.
 */
export class FakeSalesforce {
  readonly org: FakeOrg;
  readonly calls: ServedCall[] = [];
  /** Requests the fake refused because they break Salesforce's documented shapes. */
  readonly schemaViolations: string[] = [];
  /** Every event relayed so far (what was sent, in order). */
  readonly relayed: RelayedEvent[] = [];
  /** Whether relayed events wait in `held` until `releaseEvents` instead of going out at once. */
  holdEvents = false;
  readonly held: RelayedEvent[] = [];
  /** Decides per API call whether to refuse it with REQUEST_LIMIT_EXCEEDED (403). */
  limitExceeded: (call: { method: string; path: string }) => boolean = () => false;
  private readonly tokens = new Map<string, string>();
  private server: Server | null = null;
  private relayChain: Promise<void> = Promise.resolve();
  baseUrl = "";

  constructor(readonly options: FakeSalesforceOptions) {
    this.org = new FakeOrg(options);
  }

  get source(): string {
    return `aws.partner/salesforce.com/${this.options.orgId}/${this.options.channelId ?? "0YLRM0000004Dfg4AE"}`;
  }

  async listen(port = 0): Promise<string> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        response.writeHead(500, { "content-type": "application/json" });
        response.end(JSON.stringify([{ message: String(error), errorCode: "UNKNOWN_EXCEPTION" }]));
      });
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    await this.relayChain;
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Forgets every access token issued: the next call answers 401 (a revoked session). */
  expireTokens(): void {
    this.tokens.clear();
  }

  /** Waits until every relayed event has been handed over. */
  async relayIdle(): Promise<void> {
    let chain: Promise<void>;
    do {
      chain = this.relayChain;
      await chain;
    } while (chain !== this.relayChain);
  }

  /** Sends held events: in commit order, or shuffled and with duplicates (relay redeliveries). */
  releaseEvents(
    options: { shuffle?: () => number; duplicate?: (event: RelayedEvent) => boolean } = {},
  ): RelayedEvent[] {
    let events = this.held.splice(0);
    if (options.duplicate)
      events = events.flatMap((event) => (options.duplicate?.(event) ? [event, event] : [event]));
    if (options.shuffle) {
      const random = options.shuffle;
      for (let i = events.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [events[i], events[j]] = [events[j] as RelayedEvent, events[i] as RelayedEvent];
      }
    }
    for (const event of events) this.send(event);
    return events;
  }

  /** Drops held events (a relay past its recovery point): only a gap event will tell. */
  dropHeldEvents(): RelayedEvent[] {
    return this.held.splice(0);
  }

  /** Relays a change event the test builds itself (GAP_*, GAP_OVERFLOW). */
  relayPayload(entityName: "Opportunity" | "OpportunityLineItem", payload: ChangeEventPayload): void {
    this.org.relayQueue.push(payload);
    void entityName;
    this.pump();
  }

  /** A rep's edit in the Salesforce UI: commits as that user with the UI's changeOrigin. */
  userEdit(
    edit:
      | { op: "updateLine"; id: string; values: SfRecord }
      | { op: "updateLines"; ids: string[]; values: SfRecord }
      | { op: "deleteLine"; id: string }
      | { op: "updateOpportunity"; id: string; values: SfRecord }
      | { op: "deleteOpportunity"; id: string }
      | { op: "createOpportunity"; values: Parameters<FakeOrg["addOpportunity"]>[0] },
  ): unknown {
    const by: Committer = { userId: this.options.repUserId ?? "005000000000099AAA", changeOrigin: UI_ORIGIN };
    let result: unknown;
    switch (edit.op) {
      case "updateLine":
        result = this.org.updateLines([{ id: edit.id, values: edit.values }], by);
        break;
      case "updateLines":
        result = this.org.updateLines(
          edit.ids.map((id) => ({ id, values: edit.values })),
          by,
        );
        break;
      case "deleteLine":
      case "deleteOpportunity":
        result = this.org.deleteRecords([edit.id], by);
        break;
      case "updateOpportunity":
        result = this.org.updateOpportunity(edit.id, edit.values, by);
        break;
      case "createOpportunity":
        result = this.org.createOpportunity(edit.values, by);
        break;
    }
    this.pump();
    return result;
  }

  private pump(): void {
    for (const payload of this.org.relayQueue.splice(0)) {
      const event: RelayedEvent = JSON.parse(
        stringifyWithNumbers({
          version: "0",
          id: randomUUID(),
          "detail-type": `${payload.ChangeEventHeader.entityName}ChangeEvent`,
          source: this.source,
          account: "000000000000",
          time: new Date(payload.ChangeEventHeader.commitTimestamp).toISOString(),
          region: "us-east-1",
          resources: [],
          detail: { payload, schemaId: "fakeSchemaId000001", id: randomUUID() },
        }),
      );
      if (this.holdEvents) this.held.push(event);
      else this.send(event);
    }
  }

  private send(event: RelayedEvent): void {
    this.relayed.push(event);
    const { onEvent, url } = this.options.relay ?? {};
    this.relayChain = this.relayChain.then(async () => {
      try {
        if (onEvent) await onEvent(event);
        else if (url) {
          await fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(event),
          });
        }
      } catch (error) {
        console.error("fake Salesforce: relaying an event failed", error);
      }
    });
  }

  // --- HTTP ---

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://fake");
    const body = await readBody(request);
    const method = request.method ?? "GET";
    let records = 0;
    const answer = (status: number, payload?: unknown) => {
      this.calls.push({
        method,
        path: url.pathname,
        status,
        records,
        callOptions: header(request, "sforce-call-options"),
      });
      if (payload === undefined) {
        response.writeHead(status);
        response.end();
      } else {
        response.writeHead(status, {
          "content-type": "application/json",
          "sforce-limit-info": "api-usage=1/15000",
        });
        response.end(stringifyWithNumbers(payload));
      }
      this.pump();
    };
    const refuse = (status: number, errorCode: string, message: string) =>
      answer(status, [{ message, errorCode }]);

    if (method === "POST" && url.pathname === "/services/oauth2/token") {
      const form = Object.fromEntries(new URLSearchParams(body));
      const parsed = TokenRequest.safeParse(form);
      if (!parsed.success) {
        this.violation("token request", parsed.error);
        return answer(400, {
          error: "unsupported_grant_type",
          error_description: "grant type not supported",
        });
      }
      if (
        parsed.data.client_id !== this.options.clientId ||
        parsed.data.client_secret !== this.options.clientSecret
      ) {
        return answer(400, { error: "invalid_client", error_description: "invalid client credentials" });
      }
      const token = `00D!${randomUUID()}`;
      this.tokens.set(token, this.options.integrationUserId);
      return answer(200, {
        access_token: token,
        instance_url: this.baseUrl,
        id: `${this.baseUrl}/id/${this.options.orgId}/${this.options.integrationUserId}`,
        token_type: "Bearer",
        issued_at: String(Date.now()),
        signature: "fake",
      });
    }

    const match = /^\/services\/data\/v(\d{2,3}\.0)\/(.+)$/.exec(url.pathname);
    if (!match) return refuse(404, "NOT_FOUND", "The requested resource does not exist");
    const auth = header(request, "authorization");
    const userId = auth?.startsWith("Bearer ") ? this.tokens.get(auth.slice(7)) : undefined;
    if (!userId) return refuse(401, "INVALID_SESSION_ID", "Session expired or invalid");
    const callOptions = header(request, "sforce-call-options");
    if (callOptions !== null && !CallOptionsHeader.safeParse(callOptions).success) {
      this.schemaViolations.push(`malformed Sforce-Call-Options: ${callOptions}`);
    }
    if (this.limitExceeded({ method, path: url.pathname })) {
      return refuse(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
    }
    const client = /(?:^|[,;]\s*)client=([^,;\s]+)/.exec(callOptions ?? "")?.[1];
    const by: Committer = {
      userId,
      changeOrigin: `com/salesforce/api/rest/${match[1]}${client ? `;client=${client}` : ""}`,
    };
    const resource = match[2] as string;

    if (method === "GET" && resource === "query") {
      const q = url.searchParams.get("q");
      if (!q) return refuse(400, "MALFORMED_QUERY", "q is required");
      try {
        const query = parseSoql(q);
        const rows = this.org.query(query);
        return answer(200, {
          totalSize: rows.length,
          done: true,
          records: rows.map((row) => nestRelationships(query.object, match[1] as string, row)),
        });
      } catch (error) {
        if (error instanceof SoqlSyntaxError) {
          this.schemaViolations.push(`unparsable SOQL: ${error.message}: ${q}`);
          return refuse(400, "MALFORMED_QUERY", error.message);
        }
        if (error instanceof InvalidQuery) return refuse(400, error.errorCode, error.message);
        throw error;
      }
    }

    if (resource === "composite/sobjects") {
      if (method === "DELETE") {
        const ids = (url.searchParams.get("ids") ?? "").split(",").filter((id) => id !== "");
        records = ids.length;
        if (ids.length === 0) return refuse(400, "MALFORMED_QUERY", "ids is required");
        if (ids.length > COLLECTION_LIMIT) {
          this.schemaViolations.push(`delete of ${ids.length} ids`);
          return refuse(
            400,
            "EXCEEDED_ID_LIMIT",
            `record limit reached. cannot submit more than ${COLLECTION_LIMIT} records into this call`,
          );
        }
        return answer(200, this.org.deleteRecords(ids, by));
      }
      const parsedJson = parseJson(body);
      if (parsedJson === undefined) return refuse(400, "JSON_PARSER_ERROR", "malformed JSON");
      const schema =
        method === "POST" ? CollectionCreateRequest : method === "PATCH" ? CollectionUpdateRequest : null;
      if (!schema) return refuse(405, "METHOD_NOT_ALLOWED", `HTTP Method '${method}' not allowed`);
      const parsed = schema.safeParse(parsedJson);
      if (!parsed.success) {
        this.violation(`${method} composite/sobjects`, parsed.error);
        return refuse(400, "INVALID_FIELD", "the request does not match the sObject Collections shape");
      }
      const list = parsed.data.records as Array<Record<string, unknown> & { attributes: { type: string } }>;
      records = list.length;
      if (list.length > COLLECTION_LIMIT) {
        this.schemaViolations.push(`${method} of ${list.length} records`);
        return refuse(
          400,
          "EXCEEDED_ID_LIMIT",
          `record limit reached. cannot submit more than ${COLLECTION_LIMIT} records into this call`,
        );
      }
      if (list.some((record) => record.attributes.type !== "OpportunityLineItem")) {
        return refuse(
          400,
          "INVALID_TYPE",
          "this fake writes OpportunityLineItem records through collections",
        );
      }
      if (parsed.data.allOrNone)
        return refuse(400, "INVALID_OPERATION", "this fake serves allOrNone=false only");
      if (method === "POST") {
        return answer(
          200,
          this.org.createLines(
            list.map(({ attributes: _a, ...fields }) => fields as SfRecord),
            by,
          ),
        );
      }
      return answer(
        200,
        this.org.updateLines(
          list.map(({ attributes: _a, id, ...fields }) => ({ id: String(id), values: fields as SfRecord })),
          by,
        ),
      );
    }

    const row = /^sobjects\/Opportunity\/([A-Za-z0-9]{15,18})$/.exec(resource);
    if (row && method === "PATCH") {
      const parsed = RowUpdateRequest.safeParse(parseJson(body));
      if (!parsed.success) {
        this.violation("PATCH sobjects/Opportunity", parsed.error);
        return refuse(400, "JSON_PARSER_ERROR", "malformed request");
      }
      const failure = this.org.updateOpportunity(row[1] as string, parsed.data as SfRecord, by);
      if (failure)
        return answer(failure.statusCode === "NOT_FOUND" ? 404 : 400, [
          { message: failure.message, errorCode: failure.statusCode, fields: failure.fields },
        ]);
      return answer(204);
    }
    return refuse(404, "NOT_FOUND", "The requested resource does not exist");
  }

  private violation(what: string, error: z.ZodError): void {
    this.schemaViolations.push(
      `${what}: ${error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`).join("; ")}`,
    );
  }
}

function header(request: IncomingMessage, name: string): string | null {
  const value = request.headers[name];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** A query row as Salesforce answers it: `attributes`, and `Product2.X` as a nested `Product2` object. */
function nestRelationships(object: string, version: string, row: SfRecord): Record<string, unknown> {
  const flat: SfRecord = {};
  const nested: Record<string, SfRecord> = {};
  for (const [field, value] of Object.entries(row)) {
    const [head, rest] = field.split(".", 2) as [string, string | undefined];
    if (rest === undefined) flat[field] = value;
    else nested[head] = { ...(nested[head] ?? {}), [rest]: value };
  }
  const out: Record<string, unknown> = {
    attributes: { type: object, url: `/services/data/v${version}/sobjects/${object}/${row.Id ?? ""}` },
    ...serializeRecord(object, flat),
  };
  for (const [relation, values] of Object.entries(nested)) {
    out[relation] = { attributes: { type: relation }, ...serializeRecord(relation, values) };
  }
  return out;
}
