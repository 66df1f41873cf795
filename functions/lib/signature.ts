/**
 * Request signing and verification for the `x-quotesync-signature` header (SPEC §2 "Authentication").
 *
 * Header format: `t=<unix seconds>,v1=<hex>[,v1=<hex>...]` where
 * `v1 = hex(HMAC-SHA256(secret, "<t>.<METHOD>.<path with query>.<raw body>"))`.
 *
 * This module is edge code: it runs on the raw request bytes before anything parses them, never reads
 * `process.env` and has no state, so it can be used by the Lambda handlers, the local server and the
 * command-line tools alike.
 *
 * @module
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** Name of the HTTP header (lower case, as API Gateway payload 2.0 delivers header names). */
export const SIGNATURE_HEADER = "x-quotesync-signature";

/** Allowed clock skew, in seconds, between the signer's `t` and the verifier's clock, in either direction. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** A header longer than this many bytes (UTF-8) is rejected as malformed without further parsing. */
export const MAX_SIGNATURE_HEADER_BYTES = 4096;

/** A header carrying more than this many `v1` values is rejected as malformed. */
export const MAX_SIGNATURES_PER_HEADER = 10;

/** Why a signature was refused. All of them map to `401 invalid_signature`. */
export type SignatureFailureReason = "missing" | "malformed" | "expired" | "mismatch";

/** Result of {@link verifySignature}. */
export type SignatureVerification = { ok: true } | { ok: false; reason: SignatureFailureReason };

/** Input of {@link signRequest}. */
export interface SignRequestInput {
  /** The shared secret (the tenant's CRM or CPQ secret). Must not be empty. */
  secret: string;
  /** HTTP method; upper-cased before signing. */
  method: string;
  /** The request target exactly as sent on the wire: path plus `?query` if any, e.g. `/sync/demo/outbox?limit=10`. */
  pathWithQuery: string;
  /** The exact body bytes that will be sent (a string is signed as its UTF-8 bytes). Omit or `""` for GET. */
  body?: string | Uint8Array;
  /** Signing time in unix seconds (a non-negative integer). Defaults to the current time. */
  timestamp?: number;
}

/** Input of {@link verifySignature}. */
export interface VerifySignatureInput {
  /** Value of the `x-quotesync-signature` header, or `undefined`/`null` when the request had none. */
  header: string | null | undefined;
  /**
   * Every secret currently accepted for this request (several during a rotation). Empty strings are ignored,
   * so an unset secret never authenticates anything. With no usable secret the result is `mismatch`.
   */
  secrets: readonly string[];
  /** HTTP method as received; upper-cased before verifying. */
  method: string;
  /**
   * The request target exactly as received: raw path plus `?` and the raw query string when there is one
   * (for API Gateway payload 2.0: `rawPath + (rawQueryString ? "?" + rawQueryString : "")`). Do not decode
   * or re-encode it.
   */
  pathWithQuery: string;
  /**
   * The exact body bytes as received. A string is taken as UTF-8 text; pass a Buffer when the body may not be
   * valid UTF-8 (e.g. decoded from a base64-encoded API Gateway event) so no byte is altered.
   */
  rawBody: string | Uint8Array;
  /** The verifier's current time in unix seconds. */
  nowSeconds: number;
  /** Maximum `|nowSeconds - t|`, inclusive. Defaults to {@link DEFAULT_TOLERANCE_SECONDS}. */
  toleranceSeconds?: number;
}

/** Plain non-negative decimal integer, no sign, no leading zeros, at most 12 digits (safe integer range). */
const TIMESTAMP_PATTERN = /^(?:0|[1-9][0-9]{0,11})$/;
const V1_PATTERN = /^[0-9a-fA-F]{64}$/;
const KEY_PATTERN = /^[A-Za-z0-9_-]+$/;

interface ParsedHeader {
  /** The timestamp exactly as it appears in the header (canonical decimal, see {@link TIMESTAMP_PATTERN}). */
  timestamp: string;
  /** Decoded `v1` digests, 32 bytes each. */
  signatures: Buffer[];
}

/** Parses the header strictly; `undefined` means malformed. Unknown keys (e.g. `v0`) are ignored. */
function parseHeader(header: string): ParsedHeader | undefined {
  let timestamp: string | undefined;
  const signatures: Buffer[] = [];
  for (const rawPair of header.split(",")) {
    const pair = rawPair.trim();
    const eq = pair.indexOf("=");
    if (eq <= 0) return undefined;
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (!KEY_PATTERN.test(key) || value === "") return undefined;
    if (key === "t") {
      if (timestamp !== undefined || !TIMESTAMP_PATTERN.test(value)) return undefined;
      timestamp = value;
    } else if (key === "v1") {
      if (!V1_PATTERN.test(value)) return undefined;
      signatures.push(Buffer.from(value, "hex"));
      if (signatures.length > MAX_SIGNATURES_PER_HEADER) return undefined;
    }
  }
  if (timestamp === undefined || signatures.length === 0) return undefined;
  return { timestamp, signatures };
}

/** HMAC-SHA256 over `<t>.<METHOD>.<pathWithQuery>.<body>`, fed in pieces so body bytes are never re-encoded. */
function computeDigest(
  secret: string,
  timestamp: string,
  method: string,
  pathWithQuery: string,
  body: string | Uint8Array,
): Buffer {
  const hmac = createHmac("sha256", secret);
  hmac.update(`${timestamp}.${method.toUpperCase()}.${pathWithQuery}.`, "utf8");
  if (typeof body === "string") hmac.update(body, "utf8");
  else hmac.update(body);
  return hmac.digest();
}

/**
 * Signs a request and returns the value for the `x-quotesync-signature` header: `t=<unix seconds>,v1=<hex>`.
 *
 * The signature covers the timestamp, the upper-cased method, the path with its query string and the exact
 * body bytes: send precisely the bytes you signed (with curl, `--data-binary @file`, not `-d`).
 *
 * @throws {TypeError} when the secret or method is empty, or a GET/HEAD request has a body.
 * @throws {RangeError} when `timestamp` is not a non-negative safe integer.
 * @example
 * signRequest({ secret: "demo-crm-secret", method: "POST", pathWithQuery: "/webhooks/crm/demo", body: "{}", timestamp: 1700000000 });
 * // => "t=1700000000,v1=…"
 */
export function signRequest(input: SignRequestInput): string {
  const { secret, method, pathWithQuery } = input;
  const body = input.body ?? "";
  const timestamp = input.timestamp ?? Math.floor(Date.now() / 1000);
  if (secret === "") throw new TypeError("signRequest: secret must not be empty");
  if (method.trim() === "") throw new TypeError("signRequest: method must not be empty");
  const upper = method.toUpperCase();
  if ((upper === "GET" || upper === "HEAD") && body.length > 0) {
    throw new TypeError(`signRequest: a ${upper} request has no body`);
  }
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new RangeError(
      `signRequest: timestamp must be a non-negative integer of unix seconds, got ${timestamp}`,
    );
  }
  const t = String(timestamp);
  return `t=${t},v1=${computeDigest(secret, t, upper, pathWithQuery, body).toString("hex")}`;
}

/**
 * A digest of what a valid signature header signs — `<t>.<METHOD>.<pathWithQuery>.<body>` — the
 * same for every copy of one signed request whichever of its `v1` values matched, and different
 * for any other request. Not secret (plain SHA-256, no key); undefined for an unparsable header.
 */
export function signedRequestDigest(input: {
  header: string | undefined;
  method: string;
  pathWithQuery: string;
  rawBody: Uint8Array;
}): string | undefined {
  const parsed = input.header === undefined ? undefined : parseHeader(input.header);
  if (!parsed) return undefined;
  return createHash("sha256")
    .update(`${parsed.timestamp}.${input.method.toUpperCase()}.${input.pathWithQuery}.`)
    .update(input.rawBody)
    .digest("base64url");
}

/**
 * Verifies an `x-quotesync-signature` header against the raw request, before anything parses the body.
 *
 * - `missing`: no header, or an empty one.
 * - `malformed`: over {@link MAX_SIGNATURE_HEADER_BYTES} bytes; not a list of `key=value` pairs; no `t`, more than
 *   one `t`, or a `t` that is not a plain integer; no `v1`, a `v1` that is not 64 hex digits, or more than
 *   {@link MAX_SIGNATURES_PER_HEADER} of them. Unknown keys (such as `v0`) are ignored.
 * - `expired`: `|nowSeconds - t| > toleranceSeconds` (too old or too far in the future).
 * - `mismatch`: no `v1` equals the HMAC under any of `secrets`.
 *
 * Digests are compared as decoded bytes with `crypto.timingSafeEqual`, and every (secret, `v1`) pair is
 * compared, so the time taken does not depend on where or whether a match occurs.
 */
export function verifySignature(input: VerifySignatureInput): SignatureVerification {
  const { header, secrets, method, pathWithQuery, rawBody, nowSeconds } = input;
  const toleranceSeconds = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;

  if (header === undefined || header === null || header.trim() === "")
    return { ok: false, reason: "missing" };
  if (Buffer.byteLength(header, "utf8") > MAX_SIGNATURE_HEADER_BYTES)
    return { ok: false, reason: "malformed" };
  const parsed = parseHeader(header);
  if (parsed === undefined) return { ok: false, reason: "malformed" };

  // A NaN or infinite clock fails this comparison and is treated as expired rather than accepted.
  if (!(Math.abs(nowSeconds - Number(parsed.timestamp)) <= toleranceSeconds)) {
    return { ok: false, reason: "expired" };
  }

  let matched = false;
  for (const secret of secrets) {
    if (secret === "") continue;
    const expected = computeDigest(secret, parsed.timestamp, method, pathWithQuery, rawBody);
    for (const candidate of parsed.signatures) {
      // Both are 32 bytes: the parser only accepts 64 hex digits.
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
    }
  }
  return matched ? { ok: true } : { ok: false, reason: "mismatch" };
}
