import type { StoredLine } from "../../domain/model.js";

/** A live CPQ line of quantity 1 at 1, for adapter tests that need lines but not their values. */
export function aStoredLine(syncKey: string, overrides: Partial<StoredLine> = {}): StoredLine {
  return {
    syncKey,
    id: null,
    productId: "p",
    name: `Line ${syncKey}`,
    quantity: "1",
    unitPrice: "1",
    discountPercent: "0",
    billing: "one_time",
    billingPeriod: null,
    position: null,
    serviceDate: null,
    fields: {},
    changedAt: 1,
    changedBy: "cpq",
    deleted: false,
    outdatedMirrors: [],
    ...overrides,
  };
}
