import { Forbidden, PreconditionFailed } from "../errors.js";
import type { OpportunityAggregate, QuoteAggregate, SyncResponse } from "../model.js";
import type { TenantConfig } from "../tenant.js";
import { type Cause, Workspace } from "./workspace.js";

/**
 * What a decision read before deciding: the records it may need, by id (null: not stored). A rule
 * takes from it what it uses; a record it was not given is a bug in the decision's read plan.
 */
export interface Snapshot {
  tenantId: string;
  quotes: Map<string, QuoteAggregate | null>;
  opportunities: Map<string, OpportunityAggregate | null>;
}

export function emptySnapshot(tenantId: string): Snapshot {
  return { tenantId, quotes: new Map(), opportunities: new Map() };
}

/**
 * What a decision reads before deciding. `quote`: the quote, then the opportunity it names — only
 * while it is syncing, or always with `opportunity: "named"` — and with `previous` also the quote
 * that opportunity names as synced. `opportunity`: the opportunity, then the quote it names as
 * synced. `lines`: the decision needs only these lines of the record it starts from (and their
 * twins on the other side), so they may be read by key rather than the whole sets.
 */
export type ReadPlan =
  | {
      from: "quote";
      quoteId: string;
      opportunity: "if-syncing" | "named";
      previous?: boolean;
      lines?: LineRef[];
    }
  | { from: "opportunity"; opportunityId: string; lines?: LineRef[] };

/** A line as a change names it: by its owner's id, and by sync key when the change carries it. */
export interface LineRef {
  id: string;
  syncKey?: string | undefined;
}

/** Everything a rule is told besides the snapshot and the change. */
export interface DecisionContext {
  tenant: TenantConfig;
  cause: Cause;
  /** quotesync's clock (epoch ms) at the decision. */
  now: number;
  newSyncKey: () => string;
}

/**
 * What a rule decided: the response and the changes to commit, or a refusal (SPEC §1.13) whose
 * only write is its audit entry.
 */
export type Decision =
  | { response: SyncResponse; changes: Workspace; refused?: undefined }
  | { refused: Error; changes: Workspace };

/**
 * Runs a rule's body on a fresh workspace over the snapshot. A refusal the body audited before
 * throwing (a failed precondition, a missing permission) becomes a `refused` decision.
 */
export function decided(
  context: DecisionContext,
  snapshot: Snapshot,
  body: (ws: Workspace) => SyncResponse,
): Decision {
  const ws = new Workspace(context.tenant, context.cause, context.now, snapshot);
  try {
    return { response: body(ws), changes: ws };
  } catch (error) {
    const refusal = error instanceof PreconditionFailed || error instanceof Forbidden;
    if (refusal && ws.toChangeSet().audit.length > 0) return { refused: error, changes: ws };
    throw error;
  }
}
