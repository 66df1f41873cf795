import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { CapacityReport } from "../infra/dynamodb/capacity.js";

/** What a stretch of work cost in DynamoDB calls. */
export interface Cost {
  /** Calls sent (SDK commands; the SDK's own retries of one command are not counted again). */
  calls: number;
  /** Sequential waves of calls: a call that starts while none is in flight opens a new wave. */
  roundTrips: number;
  rcu: number;
  wcu: number;
  byOperation: Record<string, number>;
}

/**
 * Counts every DynamoDB command sent through one client with an SDK middleware, and the
 * capacity the store reports. Snapshots bracket the work to attribute (one event at a time).
 */
export class DynamoMeter {
  private cost: Cost = emptyCost();
  private inFlight = 0;
  /** TransactWriteItems inputs seen while capturing (for the raw baseline), not copied. */
  captured: Array<Record<string, unknown>[]> | null = null;

  attach(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = String(context.commandName ?? "").replace(/Command$/, "");
        this.cost.calls++;
        this.cost.byOperation[operation] = (this.cost.byOperation[operation] ?? 0) + 1;
        if (this.inFlight === 0) this.cost.roundTrips++;
        this.inFlight++;
        // Kept by reference, copied by whoever takes them once the timed work is over: a copy here
        // would charge the measured path for the bench's own bookkeeping.
        if (this.captured && operation === "TransactWriteItems") {
          this.captured.push((args.input as { TransactItems: Record<string, unknown>[] }).TransactItems);
        }
        try {
          return await next(args);
        } finally {
          this.inFlight--;
        }
      },
      { step: "initialize", name: "benchDynamoMeter", priority: "high", override: true },
    );
  }

  /** The store's capacity callback. */
  readonly onCapacity = (capacity: CapacityReport): void => {
    if (capacity.kind === "read") this.cost.rcu += capacity.units;
    else this.cost.wcu += capacity.units;
  };

  snapshot(): Cost {
    return { ...this.cost, byOperation: { ...this.cost.byOperation } };
  }

  /** The cost of `work`, which must be the only DynamoDB traffic while it runs. */
  async measure<T>(work: () => Promise<T>): Promise<{ result: T; cost: Cost; ms: number }> {
    const before = this.snapshot();
    const started = performance.now();
    const result = await work();
    const ms = performance.now() - started;
    return { result, cost: difference(this.snapshot(), before), ms };
  }
}

export function emptyCost(): Cost {
  return { calls: 0, roundTrips: 0, rcu: 0, wcu: 0, byOperation: {} };
}

function difference(after: Cost, before: Cost): Cost {
  const byOperation: Record<string, number> = {};
  for (const [operation, count] of Object.entries(after.byOperation)) {
    const delta = count - (before.byOperation[operation] ?? 0);
    if (delta > 0) byOperation[operation] = delta;
  }
  return {
    calls: after.calls - before.calls,
    roundTrips: after.roundTrips - before.roundTrips,
    rcu: after.rcu - before.rcu,
    wcu: after.wcu - before.wcu,
    byOperation,
  };
}
