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
}

export function configFromEnvironment(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const tableName = env.TABLE_NAME;
  if (!tableName) throw new Error("TABLE_NAME is not set");
  const config: RuntimeConfig = {
    tableName,
    tenantCacheMs: Number(env.TENANT_CACHE_MS ?? 30_000),
    secretsCacheSeconds: Number(env.SECRETS_CACHE_SECONDS ?? 300),
  };
  if (env.DYNAMODB_ENDPOINT) config.dynamoEndpoint = env.DYNAMODB_ENDPOINT;
  if (env.AWS_REGION) config.region = env.AWS_REGION;
  return config;
}

/** What every handler uses: the engine, the store, and a cached tenant lookup. */
export interface Runtime {
  engine: SyncEngine;
  store: SyncStore;
  loadTenant(tenantId: string): Promise<TenantConfig | null>;
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
  },
): Runtime {
  const clock = options.clock ?? Date.now;
  const onConflict = options.onConflict ?? recordStorageConflict;
  const resolveSecrets = options.resolveSecrets ?? ssmSecretsResolver(300);
  const engine = new SyncEngine({ store, clock, newSyncKey, onConflict });
  const cache = new Map<string, { tenant: TenantConfig | null; until: number }>();
  return {
    engine,
    store,
    async loadTenant(tenantId) {
      const cached = cache.get(tenantId);
      if (cached && cached.until > clock()) return cached.tenant;
      const stored = await store.loadTenant(tenantId);
      const tenant = stored ? await resolveSecrets(stored) : null;
      // Unknown tenants are cached briefly too, so a flood of forged tenant ids cannot hammer storage.
      cache.set(tenantId, { tenant, until: clock() + (tenant ? options.tenantCacheMs : 1000) });
      return tenant;
    },
  };
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
      resolveSecrets: ssmSecretsResolver(config.secretsCacheSeconds),
    });
  }
  return shared;
}

/** Replaces the container's runtime (tests and the local server inject their own store). */
export function setRuntime(next: Runtime | undefined): void {
  shared = next;
}
