import type { Mirror, MirrorLine } from "../../domain/model.js";

/** A line as a simulated CRM or CPQ holds it. */
export interface SimLine {
  id: string;
  syncKey: string | null;
  productId: string;
  quantity: string;
  unitPrice: string;
  discountPercent: string;
}

export type Side = "crm" | "cpq";

/** A message in flight: an event to quotesync, or a mirror to a system. */
export type Message =
  | { to: "quotesync"; from: Side; event: Record<string, unknown> }
  | { to: Side; mirror: Mirror; seq?: number };

/**
 * A CRM or CPQ as an integrator would wire it: applies mirrors as external-id upserts on
 * `syncKey`, deletes by id (or sync key), and reports back ("echoes") what it applied.
 */
export class SimulatedSystem {
  readonly lines = new Map<string, SimLine>();
  /** The CRM's opportunity amount, and whether it is locked, as the mirrors set them. */
  amount: string | null = null;
  amountLocked = false;
  private nextId = 1;

  constructor(
    readonly side: Side,
    readonly ownerId: string,
    private readonly clock: () => string,
  ) {}

  private newId(): string {
    return `${this.side}-line-${this.nextId++}`;
  }

  private envelope(type: string, data: Record<string, unknown>): Record<string, unknown> {
    const owner =
      type.endsWith(".upserted") && !type.includes(".lines.")
        ? {}
        : this.side === "crm"
          ? { opportunityId: this.ownerId }
          : { quoteId: this.ownerId };
    return {
      eventId: `${this.side}-${Math.random().toString(36).slice(2)}`,
      type,
      occurredAt: this.clock(),
      data: { ...owner, ...data },
    };
  }

  private linesType(kind: "upserted" | "deleted" | "replaced"): string {
    return this.side === "crm" ? `opportunity.lines.${kind}` : `quote.lines.${kind}`;
  }

  private report(line: SimLine): Record<string, unknown> {
    const { syncKey, ...rest } = line;
    return syncKey ? { ...rest, syncKey } : rest;
  }

  /** A user adds a line. */
  add(values: Omit<SimLine, "id" | "syncKey">): Record<string, unknown> {
    const line: SimLine = { id: this.newId(), syncKey: null, ...values };
    this.lines.set(line.id, line);
    return this.envelope(this.linesType("upserted"), { lines: [this.report(line)] });
  }

  /** A user edits the n-th line (if any). */
  edit(index: number, values: Partial<Omit<SimLine, "id" | "syncKey">>): Record<string, unknown> | null {
    const line = [...this.lines.values()][index % Math.max(1, this.lines.size)];
    if (!line) return null;
    Object.assign(line, values);
    return this.envelope(this.linesType("upserted"), { lines: [this.report(line)] });
  }

  /** A user deletes the n-th line (if any). */
  remove(index: number): Record<string, unknown> | null {
    const line = [...this.lines.values()][index % Math.max(1, this.lines.size)];
    if (!line) return null;
    this.lines.delete(line.id);
    return this.envelope(this.linesType("deleted"), { lineIds: [line.id] });
  }

  /** A user replaces every line at once: reported as one `*.lines.replaced` snapshot. */
  replaceAll(values: Array<Omit<SimLine, "id" | "syncKey">>): Record<string, unknown> {
    this.lines.clear();
    for (const value of values) {
      const line: SimLine = { id: this.newId(), syncKey: null, ...value };
      this.lines.set(line.id, line);
    }
    return this.snapshotEvent();
  }

  /** A full report of the lines as held now (`*.lines.replaced`), as an integrator's resync sends. */
  snapshotEvent(): Record<string, unknown> {
    return this.envelope(this.linesType("replaced"), {
      lines: [...this.lines.values()].map((line) => this.report(line)),
    });
  }

  /** The CRM's header report (`opportunity.upserted`), with the amount it holds, or an edited one. */
  opportunityEvent(amount = this.amount): Record<string, unknown> {
    this.amount = amount;
    const opportunity = { id: this.ownerId, currency: "USD", ...(amount === null ? {} : { amount }) };
    return this.envelope("opportunity.upserted", { opportunity });
  }

  /** The CPQ's header report (`quote.upserted`) naming its opportunity. */
  quoteEvent(opportunityId: string, name: string): Record<string, unknown> {
    return this.envelope("quote.upserted", {
      quote: { id: this.ownerId, opportunityId, name, currency: "USD" },
    });
  }

  /** Applies a mirror and returns the events that report what was applied. */
  apply(mirror: Mirror): Record<string, unknown>[] {
    const echoes: Record<string, unknown>[] = [];
    if (mirror.opportunity) {
      this.amountLocked = mirror.opportunity.amountLocked;
      // A CRM reports its record after every update, the amount it now holds included.
      echoes.push(this.opportunityEvent(mirror.opportunity.amount));
    }
    const upserted: SimLine[] = [];
    for (const incoming of mirror.lines?.upsert ?? []) upserted.push(this.upsert(incoming));
    if (upserted.length > 0)
      echoes.push(
        this.envelope(this.linesType("upserted"), { lines: upserted.map((line) => this.report(line)) }),
      );
    const deleted: string[] = [];
    for (const target of mirror.lines?.delete ?? []) {
      const line =
        this.lines.get(target) ?? [...this.lines.values()].find((candidate) => candidate.syncKey === target);
      if (line) {
        this.lines.delete(line.id);
        deleted.push(line.id);
      }
    }
    if (deleted.length > 0) echoes.push(this.envelope(this.linesType("deleted"), { lineIds: deleted }));
    return echoes;
  }

  private upsert(incoming: MirrorLine): SimLine {
    const existing =
      [...this.lines.values()].find((line) => line.syncKey === incoming.syncKey) ??
      (incoming.id ? this.lines.get(incoming.id) : undefined);
    const values = {
      productId: incoming.productId,
      quantity: incoming.quantity,
      unitPrice: incoming.unitPrice,
      discountPercent: incoming.discountPercent,
    };
    if (existing) {
      Object.assign(existing, values, { syncKey: incoming.syncKey });
      return existing;
    }
    const created: SimLine = { id: this.newId(), syncKey: incoming.syncKey, ...values };
    this.lines.set(created.id, created);
    return created;
  }

  /** The lines as comparable values, keyed by sync key (lines without one are not paired yet). */
  snapshot(): string[] {
    return [...this.lines.values()]
      .map(
        (line) =>
          `${line.syncKey}|${line.productId}|${line.quantity}|${line.unitPrice}|${line.discountPercent}`,
      )
      .sort();
  }
}
