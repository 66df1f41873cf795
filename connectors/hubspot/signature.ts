import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * HubSpot's request signature v3 (CONNECTORS.md §3): `X-HubSpot-Signature-v3` =
 * base64(HMAC-SHA256(app client secret, method + URI + raw body + X-HubSpot-Request-Timestamp)),
 * the timestamp in epoch milliseconds and at most 5 minutes old. The URI is the public URL HubSpot
 * called, built from configuration, never from the Host header.
 */

export const SIGNATURE_V3_HEADER = "x-hubspot-signature-v3";
export const TIMESTAMP_HEADER = "x-hubspot-request-timestamp";
export const MAX_SIGNATURE_AGE_MS = 5 * 60 * 1000;

/** The characters HubSpot's docs say to decode in the URI before signing (their table, A2). */
const DECODED: Record<string, string> = {
  "%3A": ":",
  "%2F": "/",
  "%3F": "?",
  "%40": "@",
  "%21": "!",
  "%24": "$",
  "%27": "'",
  "%28": "(",
  "%29": ")",
  "%2A": "*",
  "%2C": ",",
  "%3B": ";",
};

/** The URI as HubSpot signs it: those percent-escapes decoded, every other byte kept. */
export function signedUri(uri: string): string {
  return uri.replace(
    /%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi,
    (percentEscape) => DECODED[percentEscape.toUpperCase()] ?? percentEscape,
  );
}

export function signV3(input: {
  secret: string;
  method: string;
  uri: string;
  body: string | Buffer;
  timestamp: string;
}): string {
  return createHmac("sha256", input.secret)
    .update(input.method.toUpperCase())
    .update(signedUri(input.uri))
    .update(input.body)
    .update(input.timestamp)
    .digest("base64");
}

export type V3Verification = { ok: true } | { ok: false; reason: "missing" | "expired" | "mismatch" };

/** Verifies a v3 signature in constant time; a timestamp older than 5 minutes (or from the future) fails. */
export function verifyV3(input: {
  secrets: readonly string[];
  method: string;
  uri: string;
  body: Buffer;
  signature: string | undefined;
  timestamp: string | undefined;
  now: number;
}): V3Verification {
  const { signature, timestamp } = input;
  if (!signature || !timestamp || !/^\d{1,16}$/.test(timestamp)) return { ok: false, reason: "missing" };
  const age = input.now - Number(timestamp);
  if (age > MAX_SIGNATURE_AGE_MS || age < -MAX_SIGNATURE_AGE_MS) return { ok: false, reason: "expired" };
  const given = Buffer.from(signature, "utf8");
  let matched = false;
  for (const secret of input.secrets) {
    if (!secret) continue;
    const expected = Buffer.from(signV3({ ...input, secret, timestamp }), "utf8");
    // Every secret is compared, so the time taken does not say which one (if any) matched.
    if (expected.length === given.length && timingSafeEqual(expected, given)) matched = true;
  }
  return matched ? { ok: true } : { ok: false, reason: "mismatch" };
}
