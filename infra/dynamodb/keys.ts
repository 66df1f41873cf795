/**
 * Item keys of the quotesync table. Every key of a tenant's data starts with `T#<tenantId>#`, and a
 * tenant id cannot contain `#`, so nothing a tenant sends can address another tenant's items.
 */
export const keys = {
  tenant: (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: "CONFIG" }),
  opportunityPartition: (tenantId: string, opportunityId: string) => `T#${tenantId}#O#${opportunityId}`,
  quotePartition: (tenantId: string, quoteId: string) => `T#${tenantId}#Q#${quoteId}`,
  header: "H",
  linePrefix: (generation: string) => `L#${generation}#`,
  line: (generation: string, syncKey: string) => `L#${generation}#${syncKey}`,
  quoteRefPrefix: "Q#",
  quoteRef: (quoteId: string) => `Q#${quoteId}`,
  processedEvent: (tenantId: string, eventKey: string) => ({ pk: `T#${tenantId}#E#${eventKey}`, sk: "E" }),
  outboxPartition: (tenantId: string) => `T#${tenantId}#OUTBOX`,
  outboxCounter: (tenantId: string) => ({ pk: `T#${tenantId}#OUTBOX#SEQ`, sk: "SEQ" }),
  auditPartition: (tenantId: string, opportunityId: string) => `T#${tenantId}#A#${opportunityId}`,
  /** Sparse index partitions the scheduled function pages through instead of scanning. */
  syncedPairsIndex: (tenantId: string) => `T#${tenantId}#SYNCED`,
  pendingQuotesIndex: (tenantId: string) => `T#${tenantId}#PENDING`,
  /**
   * The pipeline's list of a tenant's opportunities: one small item per known opportunity
   * (sk = its id), written with its header; it carries a sparse `gsi1` entry by stage.
   */
  opportunitiesPartition: (tenantId: string) => `T#${tenantId}#OPPS`,
  opportunitiesByStageIndex: (tenantId: string, stage: string) => `T#${tenantId}#STAGE#${stage}`,
  tenantsIndex: "TENANTS",
  /** The scheduled function's one checkpoint item (not tenant data). */
  scheduleCheckpoint: { pk: "SCHEDULE", sk: "CHECKPOINT" },
  /** A tenant's drift report: one item per drifting opportunity, sk = the opportunity id. */
  driftPartition: (tenantId: string) => `T#${tenantId}#DRIFT`,
  /** A connector's own small records of a tenant (`ConnectorStore`): one item per key. */
  connectorRecord: (tenantId: string, key: string) => ({ pk: `T#${tenantId}#CX`, sk: key }),
  /** Which tenant a HubSpot portal belongs to (its webhooks name the portal only). */
  hubSpotPortal: (portalId: number) => ({ pk: `HUBSPOT#${portalId}`, sk: "TENANT" }),
  /** The delivery queue of one pair's target side: its state item and its waiting mirrors. */
  deliveryPartition: (tenantId: string, opportunityId: string, side: string) =>
    `T#${tenantId}#D#${side}#${opportunityId}`,
  deliveryState: "STATE",
  deliveryEntry: (sequence: number) => `Q#${outboxSortKey(sequence)}`,
  deliveryEntryPrefix: "Q#",
  /** Sparse index partition of delivery queues to look at (waiting, or not drained yet). */
  deliveriesDueIndex: "DELIVERIES#DUE",
  /**
   * A tenant's failing delivery queues (retrying or parked): one small item per queue, written and
   * removed with the queue's state, so the pipeline page finds them without reading every queue.
   */
  deliveriesFailingPartition: (tenantId: string) => `T#${tenantId}#D#FAILING`,
  deliveryFailing: (opportunityId: string, side: string) => `${side}#${opportunityId}`,
} as const;

/** Outbox sort keys are zero-padded sequence numbers, so string order is numeric order. */
export function outboxSortKey(sequence: number): string {
  return String(sequence).padStart(16, "0");
}
