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
    const call = this.exchange(request, response, url, body);

    if (call.method === "POST" && url.pathname === "/services/oauth2/token") return this.issueToken(call);

    const match = /^\/services\/data\/v(\d{2,3}\.0)\/(.+)$/.exec(url.pathname);
    if (!match) return call.refuse(404, "NOT_FOUND", "The requested resource does not exist");
    const version = match[1] as string;
    const by = this.admit(call, request, version);
    if (!by) return;
    const resource = match[2] as string;

    if (call.method === "GET" && resource === "query") return this.query(call, version);
    if (resource === "composite/sobjects") {
      if (call.method === "DELETE") return this.deleteCollection(call, by);
      return this.writeCollection(call, by);
    }
    const row = /^sobjects\/Opportunity\/([A-Za-z0-9]{15,18})$/.exec(resource);
    if (row && call.method === "PATCH") return this.updateOpportunityRow(call, row[1] as string, by);
    return call.refuse(404, "NOT_FOUND", "The requested resource does not exist");
  }

  /** The call being served: answering it records it in `calls` and relays the events it caused. */
  private exchange(request: IncomingMessage, response: ServerResponse, url: URL, body: string): Exchange {
    const method = request.method ?? "GET";
    const call: Exchange = {
      method,
      url,
      body,
      records: 0,
      answer: (status, payload) => {
        this.calls.push({
          method,
          path: url.pathname,
          status,
          records: call.records,
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
      },
      refuse: (status, errorCode, message) => call.answer(status, [{ message, errorCode }]),
    };
    return call;
  }

  /** `POST /services/oauth2/token`: the client credentials flow for quotesync's connected app. */
  private issueToken(call: Exchange) {
    const form = Object.fromEntries(new URLSearchParams(call.body));
    const parsed = TokenRequest.safeParse(form);
    if (!parsed.success) {
      this.violation("token request", parsed.error);
      return call.answer(400, {
        error: "unsupported_grant_type",
        error_description: "grant type not supported",
      });
    }
    if (
      parsed.data.client_id !== this.options.clientId ||
      parsed.data.client_secret !== this.options.clientSecret
    ) {
      return call.answer(400, { error: "invalid_client", error_description: "invalid client credentials" });
    }
    const token = `00D!${randomUUID()}`;
    this.tokens.set(token, this.options.integrationUserId);
    return call.answer(200, {
      access_token: token,
      instance_url: this.baseUrl,
      id: `${this.baseUrl}/id/${this.options.orgId}/${this.options.integrationUserId}`,
      token_type: "Bearer",
      issued_at: String(Date.now()),
      signature: "fake",
    });
  }

  /**
   * Who a REST API call commits as — the token's user, with the API's changeOrigin and the
   * `Sforce-Call-Options` client — or null once refused: 401 without a live token, 403 past the
   * request limit.
   */
  private admit(call: Exchange, request: IncomingMessage, version: string): Committer | null {
    const auth = header(request, "authorization");
    const userId = auth?.startsWith("Bearer ") ? this.tokens.get(auth.slice(7)) : undefined;
    if (!userId) {
      call.refuse(401, "INVALID_SESSION_ID", "Session expired or invalid");
      return null;
    }
    const callOptions = header(request, "sforce-call-options");
    if (callOptions !== null && !CallOptionsHeader.safeParse(callOptions).success) {
      this.schemaViolations.push(`malformed Sforce-Call-Options: ${callOptions}`);
    }
    if (this.limitExceeded({ method: call.method, path: call.url.pathname })) {
      call.refuse(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
      return null;
    }
    const client = /(?:^|[,;]\s*)client=([^,;\s]+)/.exec(callOptions ?? "")?.[1];
    return {
      userId,
      changeOrigin: `com/salesforce/api/rest/${version}${client ? `;client=${client}` : ""}`,
    };
  }

  /** `GET query?q=…`: one page holding every row. */
  private query(call: Exchange, version: string) {
    const q = call.url.searchParams.get("q");
    if (!q) return call.refuse(400, "MALFORMED_QUERY", "q is required");
    try {
      const query = parseSoql(q);
      const rows = this.org.query(query);
      return call.answer(200, {
        totalSize: rows.length,
        done: true,
        records: rows.map((row) => nestRelationships(query.object, version, row)),
      });
    } catch (error) {
      if (error instanceof SoqlSyntaxError) {
        this.schemaViolations.push(`unparsable SOQL: ${error.message}: ${q}`);
        return call.refuse(400, "MALFORMED_QUERY", error.message);
      }
      if (error instanceof InvalidQuery) return call.refuse(400, error.errorCode, error.message);
      throw error;
    }
  }

  /** `DELETE composite/sobjects?ids=…`: at most COLLECTION_LIMIT ids. */
  private deleteCollection(call: Exchange, by: Committer) {
    const ids = (call.url.searchParams.get("ids") ?? "").split(",").filter((id) => id !== "");
    call.records = ids.length;
    if (ids.length === 0) return call.refuse(400, "MALFORMED_QUERY", "ids is required");
    if (ids.length > COLLECTION_LIMIT) {
      this.schemaViolations.push(`delete of ${ids.length} ids`);
      return call.refuse(
        400,
        "EXCEEDED_ID_LIMIT",
        `record limit reached. cannot submit more than ${COLLECTION_LIMIT} records into this call`,
      );
    }
    return call.answer(200, this.org.deleteRecords(ids, by));
  }

  /** `POST` (create) or `PATCH` (update) `composite/sobjects`: opportunity lines, allOrNone=false. */
  private writeCollection(call: Exchange, by: Committer) {
    const list = this.collectionRecords(call);
    if (!list) return;
    if (call.method === "POST") {
      return call.answer(
        200,
        this.org.createLines(
          list.map(({ attributes: _a, ...fields }) => fields as SfRecord),
          by,
        ),
      );
    }
    return call.answer(
      200,
      this.org.updateLines(
        list.map(({ attributes: _a, id, ...fields }) => ({ id: String(id), values: fields as SfRecord })),
        by,
      ),
    );
  }

  /** A collection write's records, or null once refused: its shape, its size, its type, allOrNone. */
  private collectionRecords(
    call: Exchange,
  ): Array<Record<string, unknown> & { attributes: { type: string } }> | null {
    const { method } = call;
    const parsedJson = parseJson(call.body);
    if (parsedJson === undefined) return refused(call, 400, "JSON_PARSER_ERROR", "malformed JSON");
    const schema =
      method === "POST" ? CollectionCreateRequest : method === "PATCH" ? CollectionUpdateRequest : null;
    if (!schema) return refused(call, 405, "METHOD_NOT_ALLOWED", `HTTP Method '${method}' not allowed`);
    const parsed = schema.safeParse(parsedJson);
    if (!parsed.success) {
      this.violation(`${method} composite/sobjects`, parsed.error);
      return refused(call, 400, "INVALID_FIELD", "the request does not match the sObject Collections shape");
    }
    const list = parsed.data.records as Array<Record<string, unknown> & { attributes: { type: string } }>;
    call.records = list.length;
    if (list.length > COLLECTION_LIMIT) {
      this.schemaViolations.push(`${method} of ${list.length} records`);
      return refused(
        call,
        400,
        "EXCEEDED_ID_LIMIT",
        `record limit reached. cannot submit more than ${COLLECTION_LIMIT} records into this call`,
      );
    }
    if (list.some((record) => record.attributes.type !== "OpportunityLineItem")) {
      return refused(
        call,
        400,
        "INVALID_TYPE",
        "this fake writes OpportunityLineItem records through collections",
      );
    }
    if (parsed.data.allOrNone)
      return refused(call, 400, "INVALID_OPERATION", "this fake serves allOrNone=false only");
    return list;
  }

  /** `PATCH sobjects/Opportunity/{id}`: 204, or the error list with 404 or 400. */
  private updateOpportunityRow(call: Exchange, id: string, by: Committer) {
    const parsed = RowUpdateRequest.safeParse(parseJson(call.body));
    if (!parsed.success) {
      this.violation("PATCH sobjects/Opportunity", parsed.error);
      return call.refuse(400, "JSON_PARSER_ERROR", "malformed request");
    }
    const failure = this.org.updateOpportunity(id, parsed.data as SfRecord, by);
    if (failure)
      return call.answer(failure.statusCode === "NOT_FOUND" ? 404 : 400, [
        { message: failure.message, errorCode: failure.statusCode, fields: failure.fields },
      ]);
    return call.answer(204);
  }

  private violation(what: string, error: z.ZodError): void {
    this.schemaViolations.push(
      `${what}: ${error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`).join("; ")}`,
    );
  }
}

/** One API call being served, as its resource's handler sees it. */
interface Exchange {
  method: string;
  url: URL;
  body: string;
  /** Records a collection call carried (ids for a delete), as `calls` will show. */
  records: number;
  /** Records the call, sends the status with the JSON payload (none: an empty body), relays events. */
  answer(status: number, payload?: unknown): void;
  /** Answers with Salesforce's error list: `[{ message, errorCode }]`. */
  refuse(status: number, errorCode: string, message: string): void;
}

/** Refuses the call and gives null, for the checks that stand before a handler goes on. */
function refused(call: Exchange, status: number, errorCode: string, message: string): null {
  call.refuse(status, errorCode, message);
  return null;
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
