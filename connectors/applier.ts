import type { ConnectorSide } from "../domain/connectors.js";
import type { Mirror, Source } from "../domain/model.js";
import type { DriftIssue } from "../domain/schedule.js";
import type { TenantConfig } from "../domain/tenant.js";

/**
 * The contract between the `deliver` function and the connectors that apply mirrors through a real
 * system's API (CONNECTORS.md §2). `deliver` owns order, retries, parking and the delivery state;
 * an applier owns one vendor's calls. Three kinds: `webhook` (a native side's own endpoint),
 * `hubspot`, `salesforce`.
 */

/** One outbox entry to apply: the mirror and where it sits in the tenant's outbox. */
export interface DeliveryEntry {
  tenantId: string;
  /** The outbox entry's id (stable across redeliveries): what the retry route names. */
  entryId: string;
  /** The outbox cursor just after this entry (what `GET /outbox?after=` would take). */
  cursor: string;
  /** When the entry was committed (ISO time). */
  at: string;
  mirror: Mirror;
}

/**
 * What quotesync knows of the target side of one pair, kept by `deliver` in the table and written in
 * the same commit as the delivery state: the target system's line id for each syncKey (so a
 * redelivered create updates instead of duplicating), and small facts an applier caches per pair.
 */
export interface TargetState {
  lineIds: Readonly<Record<string, string>>;
  facts: Readonly<Record<string, string>>;
}

/** Changes an applier made to `TargetState`: line ids learned or forgotten, facts set. */
export interface TargetStateChanges {
  lineIds?: { set?: Record<string, string>; remove?: string[] };
  facts?: Record<string, string | null>;
}

export interface ApplyContext {
  tenant: TenantConfig;
  /** The target side's connector, with credentials from `credentialsParameter` already merged in. */
  connector: ConnectorSide;
  side: Source;
  state: TargetState;
  /** The HTTP client to use (tests inject a recording one); defaults to the global fetch. */
  fetch: typeof fetch;
  now: () => number;
  /** How waits are made (a connector's rate budget); `setTimeout` unless a test moves its own clock. */
  sleep?: (ms: number) => Promise<void>;
  /** Small records a connector keeps per tenant (tokens, rate-limit buckets, id → parent maps). */
  connectorStore: ConnectorStore;
  /**
   * Mirrors of this pair's side not yet delivered, this one included, as `deliver` counts them (a
   * HubSpot deal shows it while its quote is locked). Absent where nobody counts: take 1.
   */
  pending?: number;
  /**
   * Where an applier reports what it found different on the target after applying (Salesforce's
   * own Amount against the synced lines): kept as the opportunity's drift finding; an empty list
   * clears it. Optional: without it the finding is only in the result's `detail`.
   */
  reportDrift?: (finding: { opportunityId: string; quoteId: string; issues: DriftIssue[] }) => Promise<void>;
}

export type ApplyResult =
  | { outcome: "delivered"; changes?: TargetStateChanges; detail?: string }
  /**
   * Not applied and not an error: the target cannot take it yet (a published, locked HubSpot quote).
   * It waits at the head of the pair's queue and is tried again after `retryAfterMs`.
   */
  | { outcome: "waiting"; reason: string; retryAfterMs: number; changes?: TargetStateChanges };

export interface MirrorApplier {
  readonly kind: "webhook" | "hubspot" | "salesforce";
  /**
   * Applies one mirror. Must be idempotent given `state`: applying an entry twice leaves the target
   * as applying it once (update by known ids, create only syncKeys with no id, "already gone" = done).
   * Throws `TransientDeliveryError` (retry later) or `PermanentDeliveryError` (park); either may carry
   * the state changes made before the failure, so a partly applied batch is not created twice.
   */
  apply(entry: DeliveryEntry, context: ApplyContext): Promise<ApplyResult>;
}

/** A failure worth retrying: 5xx, timeouts, rate limits, row locks. */
export class TransientDeliveryError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | null = null,
    readonly changes: TargetStateChanges = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "TransientDeliveryError";
  }
}

/** A failure no retry will fix (validation, missing record, revoked credentials): park the mirror. */
export class PermanentDeliveryError extends Error {
  constructor(
    message: string,
    readonly vendorCode: string | null = null,
    readonly changes: TargetStateChanges = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "PermanentDeliveryError";
  }
}

/**
 * Small JSON records a connector keeps for a tenant, outside the sync state: a versioned key-value
 * port (DynamoDB: `infra/dynamodb/connector-store.ts`; tests: `MemoryConnectorStore`).
 */
export interface ConnectorRecord {
  value: unknown;
  version: number;
}

export interface ConnectorStore {
  get(tenantId: string, key: string): Promise<ConnectorRecord | null>;
  getMany(tenantId: string, keys: readonly string[]): Promise<Map<string, ConnectorRecord>>;
  /**
   * Writes `value` if the record's version is still `expectedVersion` (null: it must not exist).
   * Returns false when another writer got there first; the caller reloads and decides again.
   * `ttlSeconds` lets DynamoDB expire records such as tokens.
   */
  put(
    tenantId: string,
    key: string,
    value: unknown,
    expectedVersion: number | null,
    ttlSeconds?: number,
  ): Promise<boolean>;
  delete(tenantId: string, key: string): Promise<void>;
}

/** The in-memory `ConnectorStore`: tests and the domain-level harnesses. */
export class MemoryConnectorStore implements ConnectorStore {
  private readonly records = new Map<string, ConnectorRecord>();

  async get(tenantId: string, key: string): Promise<ConnectorRecord | null> {
    const record = this.records.get(`${tenantId}\u0000${key}`);
    return record ? { value: structuredClone(record.value), version: record.version } : null;
  }

  async getMany(tenantId: string, keys: readonly string[]): Promise<Map<string, ConnectorRecord>> {
    const found = new Map<string, ConnectorRecord>();
    for (const key of keys) {
      const record = await this.get(tenantId, key);
      if (record) found.set(key, record);
    }
    return found;
  }

  async put(tenantId: string, key: string, value: unknown, expectedVersion: number | null): Promise<boolean> {
    const id = `${tenantId}\u0000${key}`;
    const current = this.records.get(id);
    if ((current?.version ?? null) !== expectedVersion) return false;
    this.records.set(id, { value: structuredClone(value), version: (current?.version ?? 0) + 1 });
    return true;
  }

  async delete(tenantId: string, key: string): Promise<void> {
    this.records.delete(`${tenantId}\u0000${key}`);
  }
}
