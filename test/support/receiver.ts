import http from "node:http";
import type { AddressInfo } from "node:net";
import { verifySignature } from "../../functions/lib/signature.js";

/** One POST the receiver got, verified, with what it answered. */
export interface ReceivedCall {
  entryId: string;
  cursor: string;
  opportunityId: string;
  mirror: Record<string, unknown>;
  status: number;
  at: number;
}

/** What the receiver answers a call: a status and headers (the test decides, per call). */
export type Answer = { status: number; headers?: Record<string, string>; body?: string };

/**
 * An integrator's webhook receiver on 127.0.0.1: verifies quotesync's signature with the delivery
 * secret, answers what `decide` says, and is idempotent by `entryId` (a mirror it already applied
 * is answered 200 and not applied again). Records every call and, per opportunity, the entry ids
 * it applied, in the order it applied them.
 */
export async function startReceiver(secret: string, path = "/hooks/quotesync?source=test") {
  const calls: ReceivedCall[] = [];
  const applied = new Map<string, string[]>();
  const appliedIds = new Set<string>();
  let duplicates = 0;
  let badSignatures = 0;
  let decide: (call: { entryId: string; opportunityId: string; attempt: number }) => Answer = () => ({
    status: 200,
  });
  const attempts = new Map<string, number>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const verified = verifySignature({
        header: req.headers["x-quotesync-signature"] as string | undefined,
        secrets: [secret],
        method: req.method ?? "POST",
        pathWithQuery: req.url ?? "/",
        rawBody: raw,
        nowSeconds: Math.floor(Date.now() / 1000),
      });
      if (!verified.ok || req.url !== path) {
        badSignatures++;
        res.writeHead(401).end();
        return;
      }
      const body = JSON.parse(raw.toString("utf8")) as {
        entryId: string;
        cursor: string;
        mirror: Record<string, unknown>;
      };
      const opportunityId = String(body.mirror.opportunityId);
      const attempt = (attempts.get(body.entryId) ?? 0) + 1;
      attempts.set(body.entryId, attempt);
      const answer = decide({ entryId: body.entryId, opportunityId, attempt });
      calls.push({
        entryId: body.entryId,
        cursor: body.cursor,
        opportunityId,
        mirror: body.mirror,
        status: answer.status,
        at: Date.now(),
      });
      if (answer.status >= 200 && answer.status < 300) {
        if (appliedIds.has(body.entryId)) duplicates++;
        else {
          appliedIds.add(body.entryId);
          applied.set(opportunityId, [...(applied.get(opportunityId) ?? []), body.entryId]);
        }
      }
      res
        .writeHead(answer.status, { "content-type": "text/plain", ...answer.headers })
        .end(answer.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    calls,
    applied,
    appliedIds,
    get duplicates() {
      return duplicates;
    },
    get badSignatures() {
      return badSignatures;
    },
    answerWith(next: typeof decide) {
      decide = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** Polls `check` until it holds (or throws after `timeoutMs`): waiting for asynchronous delivery. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
