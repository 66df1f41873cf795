import { signRequest } from "../../functions/lib/signature.js";
import {
  type ApplyContext,
  type ApplyResult,
  type DeliveryEntry,
  type MirrorApplier,
  PermanentDeliveryError,
  TransientDeliveryError,
} from "../applier.js";
import { retryAfterMs } from "../retry-after.js";

/** How long a receiver has to answer one mirror (CONNECTORS §2). */
export const WEBHOOK_TIMEOUT_MS = 5_000;

/** How much of a receiver's error answer is kept in the pair's `lastError`. */
const ERROR_BODY_CHARS = 300;

/**
 * The `webhook` delivery of a `native` side: one signed `POST {entryId, cursor, mirror}` per mirror
 * to the tenant's URL. 2xx: delivered; 429, 5xx, timeouts and network failures: retried; any other
 * status: parked. The receiver makes it idempotent by `entryId` (a mirror may arrive twice).
 */
export const webhookApplier: MirrorApplier = {
  kind: "webhook",
  async apply(entry: DeliveryEntry, context: ApplyContext): Promise<ApplyResult> {
    const { connector } = context;
    if (connector.kind !== "native" || !connector.delivery) {
      throw new PermanentDeliveryError("the side has no webhook delivery configured", "not_configured");
    }
    const { url, secret } = connector.delivery;
    if (!secret) {
      throw new PermanentDeliveryError("the webhook delivery has no secret", "no_secret");
    }
    const target = new URL(url);
    const body = JSON.stringify({ entryId: entry.entryId, cursor: entry.cursor, mirror: entry.mirror });
    const signature = signRequest({
      secret,
      method: "POST",
      pathWithQuery: `${target.pathname}${target.search}`,
      body,
      timestamp: Math.floor(context.now() / 1000),
    });
    let response: Response;
    try {
      response = await context.fetch(target, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-quotesync-signature": signature,
          "x-quotesync-entry-id": entry.entryId,
        },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
    } catch (error) {
      const timedOut = (error as Error).name === "TimeoutError" || (error as Error).name === "AbortError";
      throw new TransientDeliveryError(
        timedOut
          ? `the receiver did not answer within ${WEBHOOK_TIMEOUT_MS / 1000} s`
          : `the receiver could not be reached (${(error as Error).message})`,
        null,
        {},
        { cause: error },
      );
    }
    const detail = await answerText(response);
    if (response.status >= 200 && response.status < 300) {
      return { outcome: "delivered", detail: `HTTP ${response.status}` };
    }
    const message = `the receiver answered HTTP ${response.status}${detail ? `: ${detail}` : ""}`;
    if (response.status === 429 || response.status >= 500) {
      throw new TransientDeliveryError(
        message,
        retryAfterMs(response.headers.get("retry-after"), context.now()),
      );
    }
    throw new PermanentDeliveryError(message, `http_${response.status}`);
  },
};

/** The start of the answer's body, one line, for the pair's `lastError` (never throws). */
async function answerText(response: Response): Promise<string> {
  try {
    const text = await response.text();
    return text.replace(/\s+/g, " ").trim().slice(0, ERROR_BODY_CHARS);
  } catch {
    return "";
  }
}
