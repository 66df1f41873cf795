import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Mirror } from "../../domain/model.js";
import { engineHarness } from "../support/engine.js";
import { at, opportunityUpserted, quoteUpserted } from "../support/events.js";
import { handlerHarness } from "../support/handlers.js";
import { type Message, type Side, SimulatedSystem } from "../support/simulated-systems.js";

const RUNS = Number(process.env.CONVERGENCE_RUNS ?? 200);
const DYNAMO_RUNS = Number(process.env.CONVERGENCE_DYNAMO_RUNS ?? 15);
/** A drain that needs more deliveries than this is an echo loop. */
const MAX_DRAIN_STEPS = 3000;

const values = fc.record({
  productId: fc.constantFrom("p-a", "p-b", "p-c"),
  quantity: fc.constantFrom("1", "2", "3.5"),
  unitPrice: fc.constantFrom("10", "19.99", "133.33"),
  discountPercent: fc.constantFrom("0", "10", "12.5"),
});

const action = fc.oneof(
  fc.record({ kind: fc.constant("add" as const), side: fc.constantFrom<Side>("crm", "cpq"), values }),
  fc.record({
    kind: fc.constant("edit" as const),
    side: fc.constantFrom<Side>("crm", "cpq"),
    index: fc.nat(5),
    values,
  }),
  fc.record({
    kind: fc.constant("remove" as const),
    side: fc.constantFrom<Side>("crm", "cpq"),
    index: fc.nat(5),
  }),
  fc.record({ kind: fc.constant("deliver" as const), index: fc.nat(50) }),
  fc.record({ kind: fc.constant("duplicate" as const), index: fc.nat(50) }),
);

const scenario = fc.record({
  initial: fc.array(values, { maxLength: 3 }),
  actions: fc.array(action, { minLength: 5, maxLength: 40 }),
  drainOrder: fc.array(fc.nat(1000), { minLength: 1, maxLength: 20 }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

interface Quotesync {
  send(from: Side, event: Record<string, unknown>): Promise<{ status: string; mirrors: Mirror[] }>;
  status(): Promise<{
    amount: string | null;
    lines: Array<{ productId: string; quantity: string; unitPrice: string; discountPercent: string }>;
  }>;
}

/** Exact subtotal with BigInt, independent of the engine: Σ q × p × (100 − d) / 100, half-up to cents. */
function referenceSubtotal(
  lines: Array<{ quantity: string; unitPrice: string; discountPercent: string }>,
): string {
  // Inputs have at most 4 decimals: scale each by 10^4 as an exact BigInt.
  const scaled = (text: string) => {
    const [whole = "0", fraction = ""] = text.split(".");
    return BigInt(`${whole}${fraction.padEnd(4, "0")}`);
  };
  const divisor = 10n ** 12n; // q·10^4 × p·10^4 × (100 − d)·10^4 = total in cents × 10^12
  let cents = 0n;
  for (const line of lines) {
    const exact =
      scaled(line.quantity) * scaled(line.unitPrice) * (1_000_000n - scaled(line.discountPercent));
    cents += (exact + divisor / 2n) / divisor;
  }
  return `${cents / 100n}.${String(cents % 100n).padStart(2, "0")}`;
}

/** Plays one scenario: both systems edit at random, messages arrive out of order and twice. */
async function play(
  quotesync: Quotesync,
  input: Scenario,
  ids: { opportunityId: string; quoteId: string },
  startSync: () => Promise<Mirror[]>,
) {
  let tick = 1000;
  if (process.env.CONVERGENCE_TRACE) console.log("deliver === new run");
  const clock = () => at(tick++);
  const crm = new SimulatedSystem("crm", ids.opportunityId, clock);
  const cpq = new SimulatedSystem("cpq", ids.quoteId, clock);
  const systems = { crm, cpq };
  const queue: Message[] = [];
  for (const initial of input.initial) {
    const event = cpq.add(initial);
    const response = await quotesync.send("cpq", event);
    expect(response.mirrors).toEqual([]);
  }
  for (const mirror of await startSync()) queue.push({ to: mirror.target, mirror });

  async function deliver(message: Message) {
    if (process.env.CONVERGENCE_TRACE) console.log("deliver", JSON.stringify(message));
    if (message.to === "quotesync") {
      const response = await quotesync.send(message.from, message.event);
      if (process.env.CONVERGENCE_TRACE) console.log("  ->", JSON.stringify(response));
      for (const mirror of response.mirrors) queue.push({ to: mirror.target, mirror });
    } else {
      for (const event of systems[message.to].apply(message.mirror))
        queue.push({ to: "quotesync", from: message.to, event });
    }
  }

  for (const step of input.actions) {
    if (step.kind === "deliver" || step.kind === "duplicate") {
      if (queue.length === 0) continue;
      const index = step.index % queue.length;
      const message = queue[index] as Message;
      if (step.kind === "deliver") queue.splice(index, 1);
      await deliver(message);
      continue;
    }
    const system = systems[step.side];
    const event =
      step.kind === "add"
        ? system.add(step.values)
        : step.kind === "edit"
          ? system.edit(step.index, step.values)
          : system.remove(step.index);
    if (event) queue.push({ to: "quotesync", from: step.side, event });
  }
  let steps = 0;
  while (queue.length > 0) {
    if (++steps > MAX_DRAIN_STEPS)
      throw new Error(`no rest after ${MAX_DRAIN_STEPS} deliveries: an echo loop`);
    const pick = (input.drainOrder[steps % input.drainOrder.length] ?? 0) % queue.length;
    const [message] = queue.splice(pick, 1);
    await deliver(message as Message);
  }

  const valuesOf = (
    lines: Iterable<{ productId: string; quantity: string; unitPrice: string; discountPercent: string }>,
  ) =>
    [...lines]
      .map((line) => `${line.productId}|${line.quantity}|${line.unitPrice}|${line.discountPercent}`)
      .sort();
  const status = await quotesync.status();
  expect(valuesOf(crm.lines.values())).toEqual(valuesOf(cpq.lines.values()));
  expect(valuesOf(status.lines)).toEqual(valuesOf(cpq.lines.values()));
  expect(status.amount).toBe(referenceSubtotal([...cpq.lines.values()]));
  return steps;
}

describe("convergence of a synced pair under random edits, duplicates and out-of-order delivery", () => {
  it(`converges with no echo loop (${RUNS} generated runs, in-memory store)`, async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (input) => {
        run++;
        const h = engineHarness();
        await h.setup();
        const ids = { opportunityId: `opp-${run}`, quoteId: `quote-${run}` };
        await h.crm(opportunityUpserted(ids.opportunityId, {}, { occurredAt: at(1) }));
        await h.cpq(quoteUpserted(ids.quoteId, ids.opportunityId, {}, { occurredAt: at(2) }));
        const quotesync: Quotesync = {
          send: async (from, event) => (from === "crm" ? await h.crm(event) : await h.cpq(event)).response,
          status: () => h.status(ids.opportunityId),
        };
        await play(quotesync, input, ids, async () => (await h.start(ids.quoteId)).response.mirrors);
      }),
      {
        numRuns: RUNS,
        ...(process.env.CONVERGENCE_EXAMPLE
          ? { examples: [[JSON.parse(process.env.CONVERGENCE_EXAMPLE)]] }
          : {}),
      },
    );
  }, 900_000);

  describe("on DynamoDB Local through the handlers", () => {
    let h: Awaited<ReturnType<typeof handlerHarness>>;
    beforeAll(async () => {
      h = await handlerHarness();
    });
    afterAll(async () => {
      await h.dispose();
    });

    it(`converges with no echo loop (${DYNAMO_RUNS} generated runs)`, async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(scenario, async (input) => {
          run++;
          const ids = { opportunityId: `conv-opp-${run}`, quoteId: `conv-quote-${run}` };
          expect(
            (await h.crm(opportunityUpserted(ids.opportunityId, {}, { occurredAt: at(1) }))).statusCode,
          ).toBe(200);
          expect(
            (await h.cpq(quoteUpserted(ids.quoteId, ids.opportunityId, {}, { occurredAt: at(2) })))
              .statusCode,
          ).toBe(200);
          const quotesync: Quotesync = {
            async send(from, event) {
              const response = from === "crm" ? await h.crm(event) : await h.cpq(event);
              expect(response.statusCode).toBe(200);
              return response.body;
            },
            status: async () => (await h.status(ids.opportunityId)).body,
          };
          await play(quotesync, input, ids, async () => (await h.start(ids.quoteId)).body.mirrors);
        }),
        { numRuns: DYNAMO_RUNS },
      );
    }, 900_000);
  });
});
