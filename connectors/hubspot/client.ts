import { HubSpotRefused, HubSpotUnavailable } from "./errors.js";
import type { Properties } from "./properties.js";
import type { RateBudget } from "./rate-limit.js";
import type { AccessTokens } from "./tokens.js";

export { HubSpotRefused, HubSpotUnavailable };

/**
 * A thin HubSpot CRM client on `fetch`, for the endpoints CONNECTORS §3 names and no others (the
 * reasons and figures for not using `@hubspot/api-client` are in docs/hubspot.md). Every call takes
 * a token from the portal's budget first.
 */

export const BATCH_LIMIT = 100;

export interface HubSpotObject {
  id: string;
  properties: Properties;
  archived?: boolean;
  /** When HubSpot last changed the record (ISO time; every read answers it). */
  updatedAt?: string;
  associations?: Record<string, { results: Array<{ id: string; type?: string }> }>;
}

export interface BatchError {
  status: string;
  category: string;
  message: string;
  context?: Record<string, string[]>;
}

export interface BatchResult {
  results: HubSpotObject[];
  errors: BatchError[];
}

export type ObjectType = "line_items" | "deals" | "quotes";

export class HubSpotClient {
  /** Calls made by this client (tests and the bench count them). */
  calls = 0;

  constructor(
    private readonly options: {
      baseUrl: string;
      /** The bearer token: a private app's (`staticToken`) or a public app's OAuth tokens. */
      tokens: AccessTokens;
      fetch: typeof fetch;
      budget: RateBudget;
    },
  ) {}

  async batchRead(
    type: ObjectType,
    ids: readonly string[],
    properties: readonly string[],
  ): Promise<BatchResult> {
    const merged: BatchResult = { results: [], errors: [] };
    for (const chunk of chunks([...new Set(ids)])) {
      const answer = (await this.request("POST", `/crm/v3/objects/${type}/batch/read?archived=false`, {
        inputs: chunk.map((id) => ({ id })),
        properties,
        propertiesWithHistory: [],
      })) as Partial<BatchResult> | null;
      merged.results.push(...(answer?.results ?? []));
      merged.errors.push(...(answer?.errors ?? []));
    }
    return merged;
  }

  async batchCreateLineItems(
    inputs: Array<{ properties: Record<string, string>; parent: { id: string; typeId: number } }>,
  ): Promise<BatchResult> {
    const answer = (await this.request("POST", "/crm/v3/objects/line_items/batch/create", {
      inputs: inputs.map((input) => ({
        properties: input.properties,
        associations: [
          {
            to: { id: input.parent.id },
            types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: input.parent.typeId }],
          },
        ],
      })),
    })) as Partial<BatchResult> | null;
    return { results: answer?.results ?? [], errors: answer?.errors ?? [] };
  }

  async batchUpdateLineItems(
    inputs: Array<{ id: string; properties: Record<string, string> }>,
  ): Promise<BatchResult> {
    const answer = (await this.request("POST", "/crm/v3/objects/line_items/batch/update", {
      inputs,
    })) as Partial<BatchResult> | null;
    return { results: answer?.results ?? [], errors: answer?.errors ?? [] };
  }

  async batchArchiveLineItems(ids: readonly string[]): Promise<void> {
    await this.request("POST", "/crm/v3/objects/line_items/batch/archive", {
      inputs: ids.map((id) => ({ id })),
    });
  }

  /** One deal or quote with its associations (`line_items`, `deals`); null when it does not exist. */
  async getObject(
    type: "deals" | "quotes",
    id: string,
    properties: readonly string[],
    associations: readonly string[] = [],
  ): Promise<HubSpotObject | null> {
    const query = new URLSearchParams({ properties: properties.join(",") });
    if (associations.length > 0) query.set("associations", associations.join(","));
    try {
      return (await this.request(
        "GET",
        `/crm/v3/objects/${type}/${encodeURIComponent(id)}?${query}`,
      )) as HubSpotObject;
    } catch (error) {
      if (error instanceof HubSpotRefused && error.status === 404) return null;
      throw error;
    }
  }

  async patch(
    type: "deals" | "quotes",
    id: string,
    properties: Record<string, string>,
  ): Promise<HubSpotObject> {
    return (await this.request("PATCH", `/crm/v3/objects/${type}/${encodeURIComponent(id)}`, {
      properties,
    })) as HubSpotObject;
  }

  /** Associations v4 batch read: each `from` id → the ids it is associated with. */
  async associations(
    from: ObjectType,
    to: ObjectType,
    ids: readonly string[],
  ): Promise<Map<string, string[]>> {
    const found = new Map<string, string[]>();
    for (const chunk of chunks([...new Set(ids)])) {
      const answer = (await this.request("POST", `/crm/v4/associations/${from}/${to}/batch/read`, {
        inputs: chunk.map((id) => ({ id })),
      })) as { results?: Array<{ from: { id: string }; to: Array<{ toObjectId: string | number }> }> } | null;
      for (const result of answer?.results ?? []) {
        found.set(
          String(result.from.id),
          result.to.map((to) => String(to.toObjectId)),
        );
      }
    }
    return found;
  }

  /** Setup only: creates a custom property (`quotesync hubspot setup-properties`). */
  async createProperty(objectType: string, property: Record<string, unknown>): Promise<"created" | "exists"> {
    try {
      await this.request("POST", `/crm/v3/properties/${objectType}`, property);
      return "created";
    } catch (error) {
      if (error instanceof HubSpotRefused && error.status === 409) return "exists";
      throw error;
    }
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    let response = await this.send(method, path, body, await this.options.tokens.current());
    if (response.status === 401) {
      // An expired or revoked OAuth token: one fresh token, one more try.
      const fresh = await this.options.tokens.refreshed();
      if (fresh !== null) response = await this.send(method, path, body, fresh);
    }
    if (response.status === 204) return null;
    const text = await response.text();
    const parsed = text ? safeJson(text) : null;
    if (response.ok) return parsed;
    const message = `HubSpot ${method} ${path.split("?")[0]} → ${response.status}: ${
      (parsed as { message?: string } | null)?.message ?? text.slice(0, 200)
    }`;
    if (response.status === 429 || response.status >= 500) {
      throw new HubSpotUnavailable(message, response.status, retryAfter(response));
    }
    throw new HubSpotRefused(
      message,
      response.status,
      (parsed as { category?: string } | null)?.category ?? null,
    );
  }

  /** One HTTP call, after a grant from the portal's budget. */
  private async send(method: string, path: string, body: unknown, token: string): Promise<Response> {
    await this.options.budget.take(1);
    this.calls++;
    try {
      return await this.options.fetch(new URL(path, this.options.baseUrl), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(5_000),
      });
    } catch (error) {
      throw new HubSpotUnavailable(`HubSpot unreachable: ${(error as Error).message}`, 0, null);
    }
  }
}

/** `Retry-After` (seconds) if given, else the rate-limit interval header, else nothing. */
function retryAfter(response: Response): number | null {
  const seconds = Number(response.headers.get("retry-after"));
  if (response.headers.get("retry-after") && Number.isFinite(seconds)) return seconds * 1000;
  const interval = Number(response.headers.get("x-hubspot-ratelimit-interval-milliseconds"));
  const remaining = response.headers.get("x-hubspot-ratelimit-remaining");
  if (remaining === "0" && Number.isFinite(interval) && interval > 0) return interval;
  return null;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 200) };
  }
}

export function chunks<T>(items: readonly T[], size = BATCH_LIMIT): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}
