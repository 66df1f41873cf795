import type { StoredLine } from "./model.js";

/**
 * A side's lines by sync key that also finds a line by its owner's id in constant time, so a
 * report of N lines that carry only their own ids is paired in O(N), not O(N²). It keeps the
 * plain scan's answer exactly: of the lines holding an id, the one first inserted.
 */
export class IndexedLines extends Map<string, StoredLine> {
  /** id → sync key of the line holding it, or of each line when more than one does. */
  private readonly byId = new Map<string, string | Set<string>>();
  /** Sync key → order of first insertion (Map iteration order). */
  private readonly order = new Map<string, number>();
  private inserted = 0;

  constructor(lines: Iterable<[string, StoredLine]> = []) {
    super();
    // A Map's own forEach: no [key, value] pair is built per line, as an entries iterator does.
    if (lines instanceof Map) {
      lines.forEach((line: StoredLine, syncKey: string) => {
        this.set(syncKey, line);
      });
    } else for (const [syncKey, line] of lines) this.set(syncKey, line);
  }

  override set(syncKey: string, line: StoredLine): this {
    const previous = super.get(syncKey);
    // The same key with the same id (most changes): the index already says where the id is.
    if (previous !== undefined && previous.id === line.id) {
      super.set(syncKey, line);
      return this;
    }
    this.unindex(syncKey);
    if (!this.order.has(syncKey)) this.order.set(syncKey, this.inserted++);
    super.set(syncKey, line);
    if (line.id !== null) {
      // One holder is kept as its key alone: a Set is made only for an id two lines hold.
      const holders = this.byId.get(line.id);
      if (holders === undefined) this.byId.set(line.id, syncKey);
      else if (typeof holders !== "string") holders.add(syncKey);
      else if (holders !== syncKey) this.byId.set(line.id, new Set([holders, syncKey]));
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
    if (holders === undefined) return undefined;
    if (typeof holders === "string") return this.get(holders);
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
    if (holders === undefined) return;
    if (typeof holders === "string") {
      if (holders === syncKey) this.byId.delete(previous.id);
      return;
    }
    holders.delete(syncKey);
    if (holders.size === 1) this.byId.set(previous.id, holders.values().next().value as string);
    else if (holders.size === 0) this.byId.delete(previous.id);
  }
}

/** The lines as an IndexedLines (the same object when they are one already). */
export function indexedLines(lines: Map<string, StoredLine>): IndexedLines {
  return lines instanceof IndexedLines ? lines : new IndexedLines(lines);
}
