import type { StoredLine } from "./model.js";

/**
 * A side's lines by sync key that also finds a line by its owner's id in constant time, so a
 * report of N lines that carry only their own ids is paired in O(N), not O(N²). It keeps the
 * plain scan's answer exactly: of the lines holding an id, the one first inserted.
 */
export class IndexedLines extends Map<string, StoredLine> {
  /** id → sync keys of the lines that currently hold it. */
  private readonly byId = new Map<string, Set<string>>();
  /** Sync key → order of first insertion (Map iteration order). */
  private readonly order = new Map<string, number>();
  private inserted = 0;

  constructor(lines: Iterable<[string, StoredLine]> = []) {
    super();
    for (const [syncKey, line] of lines) this.set(syncKey, line);
  }

  override set(syncKey: string, line: StoredLine): this {
    this.unindex(syncKey);
    if (!this.order.has(syncKey)) this.order.set(syncKey, this.inserted++);
    super.set(syncKey, line);
    if (line.id !== null) {
      const holders = this.byId.get(line.id) ?? new Set<string>();
      holders.add(syncKey);
      this.byId.set(line.id, holders);
    }
    return this;
  }

  override delete(syncKey: string): boolean {
    this.unindex(syncKey);
    this.order.delete(syncKey);
    return super.delete(syncKey);
  }

  override clear(): void {
    this.byId.clear();
    this.order.clear();
    super.clear();
  }

  /** The first-inserted line whose owner's id is `id`. */
  findById(id: string): StoredLine | undefined {
    const holders = this.byId.get(id);
    if (!holders) return undefined;
    let first: string | undefined;
    for (const syncKey of holders) {
      if (first === undefined || (this.order.get(syncKey) ?? 0) < (this.order.get(first) ?? 0))
        first = syncKey;
    }
    return first === undefined ? undefined : this.get(first);
  }

  private unindex(syncKey: string): void {
    const previous = this.get(syncKey);
    if (previous?.id == null) return;
    const holders = this.byId.get(previous.id);
    holders?.delete(syncKey);
    if (holders?.size === 0) this.byId.delete(previous.id);
  }
}

/** The lines as an IndexedLines (the same object when they are one already). */
export function indexedLines(lines: Map<string, StoredLine>): IndexedLines {
  return lines instanceof IndexedLines ? lines : new IndexedLines(lines);
}
