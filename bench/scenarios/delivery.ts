import http from "node:http";
import type { AddressInfo } from "node:net";
import { DescribeTableCommand, UpdateTableCommand } from "@aws-sdk/client-dynamodb";
import { demoTenant, TenantConfig } from "../../domain/tenant.js";
import { deliverBatch } from "../../functions/deliver.js";
import { retryDueDeliveries } from "../../functions/deliver-retry.js";
import { createDeliveryRuntime } from "../../functions/lib/delivery-runtime.js";
import { runtime } from "../../functions/lib/runtime.js";
import { verifySignature } from "../../functions/lib/signature.js";
import { TABLE_STREAM } from "../../infra/table.js";
import { invokeRoute } from "../../local/invoke.js";
import { outboxInsertFilter, startRetryTimer, startStreamReader } from "../../local/stream-reader.js";
import {
  benchLine,
  linesOf,
  opportunityUpserted,
  quoteLinesReplaced,
  quoteLinesUpserted,
  quoteUpserted,
} from "../events.js";
import { type Bench, expectOk, SECRETS } from "../harness.js";
import { median, p99, round } from "../stats.js";

export interface DeliveryResult {
  writers: number;
  pairs: number;
  mirrors: number;
  /** From the webhook's answer (the commit) to the receiver's getting the mirror. */
  lagP50Ms: number;
  lagP99Ms: number;
  /** Mirrors delivered per second, from the first change sent to the last mirror received. */
  deliveredPerSecond: number;
  duplicates: number;
}

const TENANT = "bench-delivery";
const WRITERS = 16;
const PAIRS = 32;
const CHANGES_PER_WRITER = 20;
const DELIVERY_SECRET = "bench-delivery-secret-0123456789";

/**
 * Delivery as `npm start` runs it: the table's stream read by the local reader every 200 ms into
 * the deliver handler, the retry pass every second, a signed POST per mirror to a receiver on
 * 127.0.0.1. 16 writers make one-line changes on their own pairs; each change sets a quantity no
 * other change sets, so the receiver can match each mirror to the webhook answer that committed it.
 */
export async function deliveryLag(bench: Bench): Promise<DeliveryResult> {
  const receiver = await startReceiver();
  await registerDeliveringTenant(bench, receiver.port);
  const delivery = await startDelivery(bench);
  try {
    await setUpPairs(receiver);
    const { answered, started } = await makeChanges();
    const expected = [...answered.keys()];
    const { received } = receiver;
    await waitFor(() => expected.every((value) => received.has(value)), 60_000, "every change's mirror");
    const lags = expected.map((value) => (received.get(value) as number) - (answered.get(value) as number));
    const lastReceived = Math.max(...expected.map((value) => received.get(value) as number));
    return {
      writers: WRITERS,
      pairs: PAIRS,
      mirrors: expected.length,
      lagP50Ms: round(median(lags)),
      lagP99Ms: round(p99(lags)),
      deliveredPerSecond: round((expected.length / (lastReceived - started)) * 1000),
      duplicates: receiver.duplicates,
    };
  } finally {
    await delivery.reader.stop();
    await delivery.retries.stop();
    receiver.server.closeAllConnections();
    await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
  }
}

/** The receiving endpoint: when each quantity first arrived, the entries seen, and repeats. */
interface Receiver {
  server: http.Server;
  port: number;
  received: Map<number, number>;
  entries: Set<string>;
  duplicates: number;
}

/** A receiver on 127.0.0.1 that checks each mirror's signature, as an integrator's would. */
async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = {
    server: http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const at = performance.now();
        const raw = Buffer.concat(chunks);
        const verified = verifySignature({
          header: req.headers["x-quotesync-signature"] as string | undefined,
          secrets: [DELIVERY_SECRET],
          method: "POST",
          pathWithQuery: req.url ?? "/",
          rawBody: raw,
          nowSeconds: Math.floor(Date.now() / 1000),
        });
        if (!verified.ok) {
          res.writeHead(401).end();
          return;
        }
        receive(receiver, raw, at);
        res.writeHead(204).end();
      });
    }),
    port: 0,
    received: new Map(),
    entries: new Set(),
    duplicates: 0,
  };
  await new Promise<void>((resolve) => receiver.server.listen(0, "127.0.0.1", () => resolve()));
  receiver.port = (receiver.server.address() as AddressInfo).port;
  return receiver;
}

/** Records a verified mirror: its entry (a repeat counts as a duplicate) and its lines' quantities. */
function receive(receiver: Receiver, raw: Buffer, at: number): void {
  const { entryId, mirror } = JSON.parse(raw.toString("utf8")) as {
    entryId: string;
    mirror: { lines?: { upsert: Array<{ quantity: string }> } };
  };
  if (receiver.entries.has(entryId)) receiver.duplicates++;
  receiver.entries.add(entryId);
  for (const line of mirror.lines?.upsert ?? []) {
    const quantity = Number(line.quantity);
    if (!receiver.received.has(quantity)) receiver.received.set(quantity, at);
  }
}

/** The bench tenant, its CRM side delivering to the receiver. */
async function registerDeliveringTenant(bench: Bench, port: number): Promise<void> {
  await bench.store.putTenant(
    TenantConfig.parse({
      ...demoTenant(SECRETS),
      tenantId: TENANT,
      connectors: {
        crm: {
          kind: "native",
          delivery: { kind: "webhook", url: `http://127.0.0.1:${port}/quotesync`, secret: DELIVERY_SECRET },
        },
      },
    }),
  );
}

/** The stream reader into the deliver handler, and the retry pass, as `npm start` runs them. */
async function startDelivery(
  bench: Bench,
): Promise<{ reader: { stop(): Promise<void> }; retries: { stop(): Promise<void> } }> {
  const rt = createDeliveryRuntime({
    doc: bench.doc,
    tableName: bench.tableName,
    loadTenant: (tenantId) => runtime().loadTenant(tenantId),
  });
  // The bench table is created without its stream (DynamoDB Local's stream slows large writes, which
  // the other scenarios measure); it is turned on here, as deployed tables have it.
  await enableStream(bench);
  const budget = () => 60_000;
  const reader = await startStreamReader({
    client: bench.client,
    tableName: bench.tableName,
    pollMs: 200,
    filter: outboxInsertFilter,
    handle: (event) => deliverBatch(event, budget, rt),
  });
  const retries = startRetryTimer(() => retryDueDeliveries(budget, rt), 1_000);
  return { reader, retries };
}

const post = (source: "crm" | "cpq", body: unknown) =>
  invokeRoute("POST", `/webhooks/${source}/${TENANT}`, {
    rawBody: JSON.stringify(body),
    secret: SECRETS[source],
  });

/** Every pair synced, and the receiver holding each start's mirror. */
async function setUpPairs(receiver: Receiver): Promise<void> {
  for (let pair = 0; pair < PAIRS; pair++) {
    const quoteId = `dl-q-${pair}`;
    expectOk(await post("crm", opportunityUpserted(`dl-o-${pair}`)), "delivery: opportunity");
    expectOk(await post("cpq", quoteUpserted(quoteId, `dl-o-${pair}`)), "delivery: quote");
    // Quantities below 10,000 belong to the setup; each change's quantity is unique above it.
    expectOk(
      await post("cpq", quoteLinesReplaced(quoteId, linesOf(quoteId, 2, String(pair + 1)))),
      "delivery: lines",
    );
    expectOk(
      await invokeRoute("POST", `/sync/${TENANT}/quotes/${quoteId}/start`, {
        rawBody: "{}",
        secret: SECRETS.cpq,
      }),
      "delivery: start",
    );
  }
  await waitFor(() => receiver.entries.size >= PAIRS, 30_000, "the setup's mirrors");
}

/** The writers' one-line changes, each with its own quantity; when each was answered. */
async function makeChanges(): Promise<{ answered: Map<number, number>; started: number }> {
  const answered = new Map<number, number>();
  let quantity = 10_000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      for (let change = 0; change < CHANGES_PER_WRITER; change++) {
        const pair = writer + WRITERS * (change % (PAIRS / WRITERS));
        const quoteId = `dl-q-${pair}`;
        const value = ++quantity;
        const response = await post(
          "cpq",
          quoteLinesUpserted(quoteId, [benchLine(quoteId, 0, String(value))]),
        );
        expectOk(response, "delivery: change");
        answered.set(value, performance.now());
      }
    }),
  );
  return { answered, started };
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`delivery: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Turns the bench table's stream on (as deployed tables have it) and waits until it is active. */
export async function enableStream(bench: Bench): Promise<void> {
  const { Table } = await bench.client.send(new DescribeTableCommand({ TableName: bench.tableName }));
  if (Table?.StreamSpecification?.StreamEnabled) return;
  await bench.client.send(
    new UpdateTableCommand({ TableName: bench.tableName, StreamSpecification: TABLE_STREAM }),
  );
  for (;;) {
    const { Table: updated } = await bench.client.send(
      new DescribeTableCommand({ TableName: bench.tableName }),
    );
    if (updated?.LatestStreamArn && updated.TableStatus === "ACTIVE") return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
