import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Viewer links: the pipeline page's own access, since a browser cannot sign requests with the
 * tenant secret. A link carries a grant — tenant, viewer name, expiry, whether it may act — and
 * an HMAC of it under a key derived from one of the tenant's secrets (any of them verifies, so a
 * rotation keeps working links until the old secret is removed, and removing it revokes them).
 * The secret never leaves the server: only the derived MAC is in the link.
 */

export interface ViewerGrant {
  tenantId: string;
  /** Who opens the page: audited as the actor of every action taken from it. */
  viewer: string;
  /** Unix seconds after which the grant is refused. */
  expiresAt: number;
  /** Whether the page may start, stop and re-sync. */
  actions: boolean;
  /** A random id: the CSRF token of the session is derived from it. */
  nonce: string;
}

export type ViewerLinkVerdict =
  | { ok: true; grant: ViewerGrant }
  | { ok: false; reason: "malformed" | "mismatch" | "expired" | "other_tenant" };

const VERSION = "v1";
const KEY_LABEL = "quotesync viewer link v1";
const CSRF_LABEL = "quotesync csrf v1";
/** Longest accepted token: a grant is a few hundred bytes. */
const MAX_TOKEN_LENGTH = 1024;
export const MAX_VIEWER_HOURS = 24 * 7;

/** A key for viewer links only, derived from a tenant secret (a leaked link reveals nothing of it). */
function linkKey(secret: string): Buffer {
  return createHmac("sha256", secret).update(KEY_LABEL).digest();
}

function mac(secret: string, payload: string): Buffer {
  return createHmac("sha256", linkKey(secret)).update(`${VERSION}.${payload}`).digest();
}

/** Mints a token `v1.<grant, base64url JSON>.<MAC, base64url>` for a viewer. */
export function mintViewerToken(
  secret: string,
  input: { tenantId: string; viewer: string; hours: number; actions: boolean; nowSeconds?: number },
): string {
  if (secret === "") throw new TypeError("mintViewerToken: secret must not be empty");
  if (!(input.hours > 0 && input.hours <= MAX_VIEWER_HOURS))
    throw new RangeError(`a viewer link lasts more than 0 and at most ${MAX_VIEWER_HOURS} hours`);
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  const grant: ViewerGrant = {
    tenantId: input.tenantId,
    viewer: input.viewer,
    expiresAt: now + Math.round(input.hours * 3600),
    actions: input.actions,
    nonce: randomBytes(12).toString("base64url"),
  };
  const payload = Buffer.from(JSON.stringify(grant)).toString("base64url");
  return `${VERSION}.${payload}.${mac(secret, payload).toString("base64url")}`;
}

/**
 * Verifies a token for `tenantId` against each of the tenant's secrets, in constant time per
 * secret. The MAC is checked before the grant is even parsed.
 */
export function verifyViewerToken(
  token: string | undefined,
  input: { tenantId: string; secrets: string[]; nowSeconds: number },
): ViewerLinkVerdict {
  if (!token || token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: "malformed" };
  const parts = token.split(".");
  const [version, payload, digest] = parts;
  if (parts.length !== 3 || version !== VERSION || !payload || !digest)
    return { ok: false, reason: "malformed" };
  const candidate = Buffer.from(digest, "base64url");
  let matched = false;
  for (const secret of input.secrets) {
    if (secret === "") continue;
    const expected = mac(secret, payload);
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
  }
  if (!matched) return { ok: false, reason: "mismatch" };
  const grant = parseGrant(payload);
  if (!grant) return { ok: false, reason: "malformed" };
  if (grant.tenantId !== input.tenantId) return { ok: false, reason: "other_tenant" };
  if (!(input.nowSeconds < grant.expiresAt)) return { ok: false, reason: "expired" };
  return { ok: true, grant };
}

function parseGrant(payload: string): ViewerGrant | null {
  try {
    const value = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Partial<ViewerGrant>;
    if (
      typeof value.tenantId === "string" &&
      typeof value.viewer === "string" &&
      typeof value.expiresAt === "number" &&
      typeof value.actions === "boolean" &&
      typeof value.nonce === "string"
    )
      return value as ViewerGrant;
  } catch {
    // answered below
  }
  return null;
}

/**
 * The CSRF token of a session: bound to the grant's nonce and the secret, so a page of one session
 * cannot post for another, and nobody without the secret can compute it.
 */
export function csrfToken(secret: string, grant: ViewerGrant): string {
  return createHmac("sha256", linkKey(secret)).update(`${CSRF_LABEL}.${grant.nonce}`).digest("base64url");
}

/** True when `token` is the session's CSRF token under any of the tenant's secrets. */
export function verifyCsrfToken(token: string | undefined, secrets: string[], grant: ViewerGrant): boolean {
  if (!token) return false;
  const candidate = Buffer.from(token);
  let matched = false;
  for (const secret of secrets) {
    if (secret === "") continue;
    const expected = Buffer.from(csrfToken(secret, grant));
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
  }
  return matched;
}
