import type { SalesforceConnector } from "../../domain/connectors.js";
import type { ConnectorStore } from "../applier.js";
import { retryAfterMs } from "../retry-after.js";
import { stringifyWithNumbers } from "./json.js";

/** The client id quotesync names in `Sforce-Call-Options`; change events of its writes carry it. */
export const CALL_OPTIONS_CLIENT = "quotesync";
/** The most records one sObject Collections call may carry (REST guide; facts file B3). */
export const COLLECTION_LIMIT = 200;
/** Records the connector keeps: the cached token. */
const TOKEN_KEY = "salesforce#token";
/** Access tokens of the client credentials flow live for the session timeout; refreshed on 401 anyway. */
const TOKEN_TTL_SECONDS = 30 * 60;
const REQUEST_TIMEOUT_MS = 10_000;

/** A Salesforce answer that is not a success: the HTTP status and Salesforce's `errorCode`. */
export class SalesforceApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode: string,
    readonly transient: boolean,
    readonly retryAfterMs: number | null = null,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "SalesforceApiError";
  }
}

export interface SaveError {
  statusCode: string;
  message: string;
  fields?: string[];
}

/** One record's outcome in an sObject Collections answer (same order as the request). */
export interface SaveResult {
  id?: string | null;
  success: boolean;
  errors: SaveError[];
}

export type SfRecord = Record<string, unknown>;

interface CachedToken {
  accessToken: string;
  instanceUrl: string;
}

export interface SalesforceClientOptions {
  tenantId: string;
  connector: SalesforceConnector;
  store: ConnectorStore;
  fetch: typeof fetch;
  now: () => number;
}

/**
 * A thin REST client for the calls the connector makes (CONNECTORS §4): the client credentials
 * token (cached in the connector store, fetched again once on a 401), SOQL queries (all pages),
 * sObject Collections create/update/delete and the opportunity row update. Every call carries
 * `Sforce-Call-Options: client=quotesync`. `calls` counts requests made (tests and logs).
 */
export class SalesforceClient {
  calls = 0;
  private token: CachedToken | null = null;

  constructor(private readonly options: SalesforceClientOptions) {}

  private get version(): string {
    return `v${this.options.connector.apiVersion}`;
  }

  /** Runs a SOQL query and follows `nextRecordsUrl` until done. */
  async query(soql: string): Promise<SfRecord[]> {
    const records: SfRecord[] = [];
    let path: string | null = `/services/data/${this.version}/query?q=${encodeURIComponent(soql)}`;
    while (path) {
      const page = (await this.request("GET", path)) as {
        records: SfRecord[];
        done: boolean;
        nextRecordsUrl?: string;
      };
      records.push(...page.records);
      path = page.done ? null : (page.nextRecordsUrl ?? null);
    }
    return records;
  }

  async create(records: SfRecord[]): Promise<SaveResult[]> {
    assertBatch(records.length);
    return (await this.request("POST", `/services/data/${this.version}/composite/sobjects`, {
      allOrNone: false,
      records,
    })) as SaveResult[];
  }

  async update(records: SfRecord[]): Promise<SaveResult[]> {
    assertBatch(records.length);
    return (await this.request("PATCH", `/services/data/${this.version}/composite/sobjects`, {
      allOrNone: false,
      records,
    })) as SaveResult[];
  }

  async delete(ids: string[]): Promise<SaveResult[]> {
    assertBatch(ids.length);
    const query = `ids=${ids.map(encodeURIComponent).join(",")}&allOrNone=false`;
    return (await this.request(
      "DELETE",
      `/services/data/${this.version}/composite/sobjects?${query}`,
    )) as SaveResult[];
  }

  async updateRecord(object: string, id: string, values: SfRecord): Promise<void> {
    await this.request(
      "PATCH",
      `/services/data/${this.version}/sobjects/${object}/${encodeURIComponent(id)}`,
      values,
    );
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.accessToken(attempt > 0);
      const response = await this.send(`${token.instanceUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token.accessToken}`,
          accept: "application/json",
          "sforce-call-options": `client=${CALL_OPTIONS_CLIENT}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: stringifyWithNumbers(body) }),
      });
      if (response.status === 401 && attempt === 0) {
        await response.body?.cancel();
        continue;
      }
      const text = await response.text();
      if (response.ok) return text === "" ? null : JSON.parse(text);
      throw errorFrom(response, text, this.options.now());
    }
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    this.calls++;
    try {
      return await this.options.fetch(url, {
        ...init,
        redirect: "manual",
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new SalesforceApiError(
        `Salesforce could not be reached (${(error as Error).message})`,
        0,
        "NETWORK",
        true,
        null,
        { cause: error },
      );
    }
  }

  /** The cached token, else a new one; `fresh` forces a new one (after a 401). */
  private async accessToken(fresh: boolean): Promise<CachedToken> {
    const { store, tenantId } = this.options;
    if (!fresh) {
      if (this.token) return this.token;
      const cached = await store.get(tenantId, TOKEN_KEY);
      if (cached && isToken(cached.value)) {
        this.token = cached.value;
        return cached.value;
      }
    }
    const { connector } = this.options;
    if (!connector.clientId || !connector.clientSecret) {
      throw new SalesforceApiError(
        "the Salesforce connector has no clientId/clientSecret",
        0,
        "NOT_CONFIGURED",
        false,
      );
    }
    const response = await this.send(`${connector.loginUrl.replace(/\/$/, "")}/services/oauth2/token`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
        "sforce-call-options": `client=${CALL_OPTIONS_CLIENT}`,
      },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: connector.clientId,
        client_secret: connector.clientSecret,
      }).toString(),
    });
    const text = await response.text();
    if (!response.ok) {
      const answer = safeJson(text) as { error?: string; error_description?: string } | undefined;
      const transient = response.status >= 500 || response.status === 429;
      throw new SalesforceApiError(
        `the Salesforce token request failed: HTTP ${response.status} ${answer?.error ?? ""} ${answer?.error_description ?? ""}`.trim(),
        response.status,
        answer?.error ?? `HTTP_${response.status}`,
        transient,
      );
    }
    const answer = safeJson(text) as { access_token?: string; instance_url?: string } | undefined;
    if (!answer?.access_token || !answer.instance_url) {
      throw new SalesforceApiError(
        "the Salesforce token answer has no access_token",
        response.status,
        "BAD_TOKEN",
        true,
      );
    }
    const token = { accessToken: answer.access_token, instanceUrl: answer.instance_url.replace(/\/$/, "") };
    this.token = token;
    const previous = await store.get(tenantId, TOKEN_KEY);
    // Another function may have refreshed meanwhile; either token works, so losing the race is fine.
    await store.put(tenantId, TOKEN_KEY, token, previous?.version ?? null, TOKEN_TTL_SECONDS);
    return token;
  }
}

function assertBatch(count: number): void {
  if (count < 1 || count > COLLECTION_LIMIT) {
    throw new RangeError(`a collection call takes 1 to ${COLLECTION_LIMIT} records, not ${count}`);
  }
}

function isToken(value: unknown): value is CachedToken {
  const token = value as CachedToken | null;
  return typeof token?.accessToken === "string" && typeof token.instanceUrl === "string";
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Transient: 5xx, 429, REQUEST_LIMIT_EXCEEDED (a 403) and row locks; the rest is permanent. */
function errorFrom(response: Response, text: string, now: number): SalesforceApiError {
  const answer = safeJson(text);
  const first = Array.isArray(answer)
    ? (answer[0] as { errorCode?: string; message?: string } | undefined)
    : undefined;
  const errorCode = first?.errorCode ?? `HTTP_${response.status}`;
  const message = `Salesforce answered HTTP ${response.status} ${errorCode}: ${first?.message ?? text.slice(0, 200)}`;
  const transient =
    response.status >= 500 ||
    response.status === 429 ||
    errorCode === "REQUEST_LIMIT_EXCEEDED" ||
    errorCode === "UNABLE_TO_LOCK_ROW" ||
    errorCode === "SERVER_UNAVAILABLE";
  return new SalesforceApiError(
    message,
    response.status,
    errorCode,
    transient,
    retryAfterMs(response.headers.get("retry-after"), now),
  );
}

/** Quotes a value as a SOQL string literal (SOQL "Quoted String Escape Sequences"). */
export function soqlString(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** Chunks a list into groups of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let start = 0; start < items.length; start += size) groups.push(items.slice(start, start + size));
  return groups;
}
