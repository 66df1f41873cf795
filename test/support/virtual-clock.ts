/**
 * A clock that moves only when something waits on it: `sleep(ms)` moves it to `ms` after the
 * moment the wait began (never back) and resolves at once. Given as `now`/`sleep` to everything
 * that keeps time in a test — a fake vendor, quotesync's rate budget, webhook signatures — it runs
 * minutes of rate-limited traffic in the seconds the work itself takes, with every window check
 * made on the same clock.
 */
export class VirtualClock {
  private at: number;

  constructor(start = Date.now()) {
    this.at = start;
  }

  readonly now = (): number => this.at;

  readonly sleep = async (ms: number): Promise<void> => {
    const until = this.at + Math.max(0, ms);
    // Let other work run first, as a real wait would; waits begun together end together.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.at = Math.max(this.at, until);
  };
}
