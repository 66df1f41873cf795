/** Headers whose listing the store remembers (a container handles few opportunities at once). */
const HINTS_KEPT = 2_000;

/**
 * What the tenant's pipeline list holds for an opportunity, as its header records it (attribute
 * `listing`, written with the header): its stage and the values the page sorts by (amount,
 * currency, last change) while listed, absent while not. A header written before the list carried
 * the sort values records `S#<stage>`, which never matches: its entry is rewritten with them.
 */
export function listingOf(record: {
  known: boolean;
  deleted: boolean;
  stage: string | null;
  amount: string | null;
  currency: string | null;
  changedAt: number;
}): string | null {
  return record.known && !record.deleted
    ? `L2${JSON.stringify([record.stage, record.amount, record.currency, record.changedAt])}`
    : null;
}

/**
 * The listing of each opportunity header at the version this store last read it. A commit is
 * conditional on that version, so when it matches the list item is known to be as read: the
 * commit writes the item only when the listing changes (a stage move, an opportunity becoming
 * known or deleted), not on every header write. A header read elsewhere, or written before the
 * list existed (no `listing`), gets its item written.
 */
export class ListingHints {
  private readonly seen = new Map<string, { version: number; listing: string | null }>();

  note(partition: string, version: number, listing: unknown): void {
    this.seen.delete(partition);
    this.seen.set(partition, { version, listing: typeof listing === "string" ? listing : null });
    if (this.seen.size > HINTS_KEPT) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
  }

  /** The listing at `readVersion` (null: none), or undefined when this store has not seen it. */
  at(partition: string, readVersion: number | null): string | null | undefined {
    if (readVersion === null) return null;
    const seen = this.seen.get(partition);
    return seen && seen.version === readVersion ? seen.listing : undefined;
  }
}
