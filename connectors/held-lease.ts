import { type DeliveryPair, type DeliveryQueue, LeaseLost } from "../infra/dynamodb/delivery-queue.js";

/**
 * A drain's hold on its queue. A target write sent by a drainer that outlived its lease could race
 * the drainer that took over (a HubSpot line item created twice, an older value written over a
 * newer one), so every call to the target goes through `guard`: once half the lease has gone it is
 * renewed first, and a lease another drainer took (even one it gave back since) stops the call.
 * A call outlasting half a lease (timeouts are a few seconds) or a frozen drainer is what this
 * does not cover.
 */
export class HeldLease {
  /** Set once a renewal found the queue taken over. */
  lost = false;

  constructor(
    private readonly queue: DeliveryQueue,
    private readonly pair: DeliveryPair,
    readonly owner: string,
    private readonly now: () => number,
    private readonly leaseMs: number,
    private until: number,
  ) {}

  /** A renewal under way: calls made at once (an applier's parallel requests) wait on the same one. */
  private renewing: Promise<void> | null = null;

  /** Renews the lease when half of it has gone; throws `LeaseLost` when another drainer holds it. */
  async hold(): Promise<void> {
    if (this.lost) throw new LeaseLost(this.pair);
    if (this.until - this.now() > this.leaseMs / 2) return;
    this.renewing ??= this.renew().finally(() => {
      this.renewing = null;
    });
    await this.renewing;
  }

  private async renew(): Promise<void> {
    const until = this.now() + this.leaseMs;
    if (!(await this.queue.renew(this.pair, this.owner, until))) {
      this.lost = true;
      throw new LeaseLost(this.pair);
    }
    this.until = until;
  }

  /** `fetch`, each call made only while this drainer still holds the queue. */
  guard(fetchImpl: typeof fetch): typeof fetch {
    return (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
      await this.hold();
      return fetchImpl(input, init);
    }) as typeof fetch;
  }
}
