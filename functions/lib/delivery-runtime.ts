import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import type { ConnectorStore } from "../../connectors/applier.js";
import { type BackoffPolicy, DeliveryService, type OutboxInsert } from "../../connectors/delivery.js";
import { recordTargetDrift } from "../../connectors/target-drift.js";
import type { Mirror } from "../../domain/model.js";
import type { SyncStore } from "../../domain/store.js";
import { TENANT_ID_PART, type TenantConfig } from "../../domain/tenant.js";
import { DynamoConnectorStore } from "../../infra/dynamodb/connector-store.js";
import { DeliveryQueue } from "../../infra/dynamodb/delivery-queue.js";
import { DispatchCursors, outboxSource } from "../../infra/dynamodb/dispatch-cursor.js";
import { encodeCursor, OutboxLog } from "../../infra/dynamodb/outbox.js";
import { type ConnectorResolver, ssmConnectorResolver } from "./connector-credentials.js";
import { logger } from "./logger.js";
import { recordDelivery } from "./metrics.js";
import { configFromEnvironment, dynamoClient, runtime } from "./runtime.js";

/** What the delivery functions use: the service and the table it runs on. */
export interface DeliveryRuntime {
  service: DeliveryService;
  doc: DynamoDBDocumentClient;
  tableName: string;
}

export interface DeliveryRuntimeOptions {
  doc: DynamoDBDocumentClient;
  tableName: string;
  loadTenant(tenantId: string): Promise<TenantConfig | null>;
  resolveConnector?: ConnectorResolver;
  connectorStore?: ConnectorStore;
  /** Where appliers' drift findings are kept (default: the runtime's store). */
  driftStore?: Pick<SyncStore, "loadDriftFinding" | "saveDriftFinding" | "deleteDriftFinding">;
  fetch?: typeof fetch;
  now?: () => number;
  random?: () => number;
  backoff?: BackoffPolicy;
  leaseMs?: number;
}

/** A delivery runtime on a table: production wiring, or a test's / the local server's own. */
export function createDeliveryRuntime(options: DeliveryRuntimeOptions): DeliveryRuntime {
  const service = new DeliveryService({
    queue: new DeliveryQueue(options.doc, options.tableName),
    outbox: outboxSource(new OutboxLog(options.doc, options.tableName, options.now ?? Date.now)),
    cursors: new DispatchCursors(options.doc, options.tableName),
    onDispatchError: (tenantId, error) =>
      logger.warn("dispatch of a stalled tenant left for the next retry pass", {
        tenantId,
        error: error as Error,
      }),
    loadTenant: options.loadTenant,
    resolveConnector: options.resolveConnector ?? ssmConnectorResolver(300),
    connectorStore: options.connectorStore ?? new DynamoConnectorStore(options.doc, options.tableName),
    reportDrift: (tenantId, finding) =>
      recordTargetDrift(options.driftStore ?? runtime().store, tenantId, finding, options.now ?? Date.now),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.random ? { random: options.random } : {}),
    ...(options.backoff ? { backoff: options.backoff } : {}),
    ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
    onDelivered: (_pair, _entry, lagMs) => recordDelivery("delivered", lagMs),
    onRetry: (pair, entryId, error) => {
      recordDelivery("retrying");
      logger.warn("delivery retry", {
        tenantId: pair.tenantId,
        opportunityId: pair.opportunityId,
        side: pair.side,
        entryId,
        error,
      });
    },
    onDrainError: (pair, error) =>
      logger.warn("delivery queue left for the retry pass", {
        tenantId: pair.tenantId,
        opportunityId: pair.opportunityId,
        side: pair.side,
        error: error as Error,
      }),
    onLate: (pair, entryId) => {
      recordDelivery("parked");
      logger.error("mirror arrived after a later one of its pair was delivered; not delivered", {
        tenantId: pair.tenantId,
        opportunityId: pair.opportunityId,
        side: pair.side,
        entryId,
      });
    },
    onParked: (pair, entryId, error) => {
      recordDelivery("parked");
      logger.error("mirror parked", {
        tenantId: pair.tenantId,
        opportunityId: pair.opportunityId,
        side: pair.side,
        entryId,
        error,
      });
    },
  });
  return { service, doc: options.doc, tableName: options.tableName };
}

let shared: DeliveryRuntime | undefined;

/** The container's delivery runtime, on the functions' table and tenant cache. */
export function deliveryRuntime(): DeliveryRuntime {
  if (!shared) {
    const config = configFromEnvironment();
    const doc = DynamoDBDocumentClient.from(dynamoClient(config), {
      marshallOptions: { removeUndefinedValues: true },
    });
    shared = createDeliveryRuntime({
      doc,
      tableName: config.tableName,
      loadTenant: (tenantId) => runtime().loadTenant(tenantId),
      resolveConnector: ssmConnectorResolver(config.secretsCacheSeconds),
    });
  }
  return shared;
}

/** Replaces the container's delivery runtime (tests and the local server bring their own). */
export function setDeliveryRuntime(next: DeliveryRuntime | undefined): void {
  shared = next;
}

const OUTBOX_PK = new RegExp(`^T#(${TENANT_ID_PART})#OUTBOX$`);

/**
 * The outbox entries among a stream batch's records, each with the index of its record: INSERTs of
 * items in a tenant's outbox partition that carry a mirror (void markers carry none). The event
 * source mapping's filter sends only those; this check keeps a wider filter harmless.
 */
export function outboxInsertsOf(
  records: readonly DynamoDBRecord[],
): Array<{ index: number; insert: OutboxInsert }> {
  const found: Array<{ index: number; insert: OutboxInsert }> = [];
  for (const [index, record] of records.entries()) {
    if (record.eventName !== "INSERT" || !record.dynamodb?.NewImage) continue;
    const image = unmarshall(record.dynamodb.NewImage as Record<string, AttributeValue>);
    const match = OUTBOX_PK.exec(String(image.pk));
    if (!match || image.void || !image.mirror || !/^\d{1,16}$/.test(String(image.sk))) continue;
    const tenantId = match[1] as string;
    const sequence = Number(image.sk);
    found.push({
      index,
      insert: {
        tenantId,
        sequence,
        entryId: String(sequence),
        cursor: encodeCursor(tenantId, sequence),
        at: String(image.at),
        mirror: image.mirror as Mirror,
      },
    });
  }
  return found;
}
