import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { EngineDeps } from "../../domain/engine/decision.js";
import { SyncEngine } from "../../domain/engine/sync-engine.js";
import type { SyncStore } from "../../domain/store.js";
import type { TenantConfig } from "../../domain/tenant.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { recordStorageConflict } from "./metrics.js";
import { type SecretsResolver, ssmSecretsResolver } from "./tenant-secrets.js";

/** Configuration of the functions, read from the environment once per container. */
export interface RuntimeConfig {
  tableName: string;
  dynamoEndpoint?: string;
  region?: string;
  /** How long a tenant's configuration (and secrets) is cached per container. */
  tenantCacheMs: number;
  /** How long secrets read from SSM Parameter Store are cached per container. */
  secretsCacheSeconds: number;
  /** Most tenants (known, and separately unknown ids) a container keeps cached. */
  tenantCacheSize?: number;
}

export function configFromEnvironment(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const tableName = env.TABLE_NAME;
  if (!tableName) throw new Error("TABLE_NAME is not set");
  const config: RuntimeConfig = {
    tableName,
    tenantCacheMs: Number(env.TENANT_CACHE_MS ?? 30_000),
    secretsCacheSeconds: Number(env.SECRETS_CACHE_SECONDS ?? 300),
  };
  if (env.TENANT_CACHE_SIZE) config.tenantCacheSize = Number(env.TENANT_CACHE_SIZE);
  if (env.DYNAMODB_ENDPOINT) config.dynamoEndpoint = env.DYNAMODB_ENDPOINT;
  if (env.AWS_REGION) config.region = env.AWS_REGION;
  return config;
}

/** What every handler uses: the engine, the store, and a cached tenant lookup. */
export interface Runtime {
  engine: SyncEngine;
  store: SyncStore;
  loadTenant(tenantId: string): Promise<TenantConfig | null>;
  /** The bounded tenant caches (for tests and metrics). */
  tenantCache?: { known: LruCache<TenantConfig>; unknown: LruCache<null> };
}

/** A fresh sync key: opaque, unique, URL-safe. */
export function newSyncKey(): string {
  return `qs_${randomUUID().replaceAll("-", "")}`;
}

export function createRuntime(
  store: SyncStore,
  options: {
    tenantCacheMs: number;
    clock?: () => number;
    onConflict?: EngineDeps["onConflict"];
    /** Where tenants that keep their secrets elsewhere get them (default: SSM Parameter Store). */
    resolveSecrets?: SecretsResolver;
    /** Most known tenants, and separately most unknown tenant ids, cached (default 1,000 each). */
    tenantCacheSize?: number;
  },
): Runtime {
  const clock = options.clock ?? Date.now;
  const onConflict = options.onConflict ?? recordStorageConflict;
  const resolveSecrets = options.resolveSecrets ?? ssmSecretsResolver(300);
  const engine = new SyncEngine({ store, clock, newSyncKey, onConflict });
  const size = options.tenantCacheSize ?? DEFAULT_TENANT_CACHE_SIZE;
  // Two bounded caches: a flood of forged tenant ids evicts only other unknown ids, never a real tenant.
  const known = new LruCache<TenantConfig>(size);
  const unknown = new LruCache<null>(size);
  return {
    engine,
    store,
    tenantCache: { known, unknown },
    async loadTenant(tenantId) {
      const now = clock();
      const cached = known.get(tenantId, now) ?? unknown.get(tenantId, now);
      if (cached !== undefined) return cached;
      const stored = await store.loadTenant(tenantId);
      const tenant = stored ? await resolveSecrets(stored) : null;
      // Unknown tenants are cached briefly too, so a flood of forged tenant ids cannot hammer storage.
      if (tenant) known.set(tenantId, tenant, clock() + options.tenantCacheMs);
      else unknown.set(tenantId, null, clock() + 1000);
      return tenant;
    },
  };
}

export const DEFAULT_TENANT_CACHE_SIZE = 1000;

/** A least-recently-used cache with per-entry expiry, holding at most `capacity` entries. */
export class LruCache<T> {
  private readonly entries = new Map<string, { value: T; until: number }>();
  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The live value, now the most recently used; undefined when absent or expired. */
  get(key: string, now: number): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.until <= now) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: T, until: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, until });
    // A Map iterates in insertion order: the first key is the least recently used.
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}

/**
 * A DynamoDB call that hangs fails after these (and is retried by the SDK), well within the
 * functions' timeouts: a request that never answers must not hold a decision past its outbox
 * numbers' write deadline, nor the function until Lambda kills it. DynamoDB answers in
 * milliseconds; a 100-action transaction well under a second.
 */
export const DYNAMODB_TIMEOUTS = {
  connectionTimeout: 1_000,
  requestTimeout: 2_000,
  throwOnRequestTimeout: true,
};

/** The container's DynamoDB client. */
export function dynamoClient(config: Pick<RuntimeConfig, "region" | "dynamoEndpoint">): DynamoDBClient {
  return new DynamoDBClient({
    ...(config.region ? { region: config.region } : {}),
    ...(config.dynamoEndpoint ? { endpoint: config.dynamoEndpoint } : {}),
    requestHandler: DYNAMODB_TIMEOUTS,
  });
}

let shared: Runtime | undefined;

/** The container's runtime: SDK clients are created once and reused across invocations. */
export function runtime(): Runtime {
  if (!shared) {
    const config = configFromEnvironment();
    const client = dynamoClient(config);
    const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    shared = createRuntime(new DynamoSyncStore({ doc, tableName: config.tableName }), {
      tenantCacheMs: config.tenantCacheMs,
      ...(config.tenantCacheSize ? { tenantCacheSize: config.tenantCacheSize } : {}),
      resolveSecrets: ssmSecretsResolver(config.secretsCacheSeconds),
    });
  }
  return shared;
}

/** Replaces the container's runtime (tests and the local server inject their own store). */
export function setRuntime(next: Runtime | undefined): void {
  shared = next;
}
