import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { TenantConfig } from "../../domain/tenant.js";
import { type ViewerGrant, type ViewerLinkVerdict, verifyViewerToken } from "../lib/viewer-link.js";

export const SESSION_COOKIE = "qs_view";

/** Every secret of the tenant: a link minted with any of them (either side, during a rotation) opens. */
export function viewerSecrets(tenant: TenantConfig): string[] {
  return [...tenant.secrets.crm, ...tenant.secrets.cpq];
}

/** Why the page shows nothing, as the status and the words of the refusal page. */
export interface Refusal {
  statusCode: 401 | 403;
  title: string;
  message: string;
}

export function refusalFor(verdict: {
  reason: Exclude<ViewerLinkVerdict, { ok: true }>["reason"] | "missing";
}): Refusal {
  switch (verdict.reason) {
    case "expired":
      return { statusCode: 401, title: "This link has expired", message: "Ask for a new viewer link." };
    case "other_tenant":
      return {
        statusCode: 403,
        title: "Not your tenant",
        message: "This link opens another tenant's pipeline.",
      };
    case "missing":
      return {
        statusCode: 401,
        title: "Sign-in needed",
        message: "Open the pipeline from a viewer link (quotesync viewer-link).",
      };
    default:
      return { statusCode: 401, title: "This link is not valid", message: "Ask for a new viewer link." };
  }
}

/** The session token from the request's cookies (API Gateway payload 2.0 moves them to `cookies`). */
export function sessionToken(event: APIGatewayProxyEventV2): string | undefined {
  const cookies = event.cookies ?? (event.headers?.cookie ?? "").split(";");
  for (const cookie of cookies) {
    const [name, ...value] = cookie.trim().split("=");
    if (name === SESSION_COOKIE) return value.join("=");
  }
  return undefined;
}

/** Checks the session cookie against the tenant in the path; a missing tenant is refused like a forged link. */
export function checkSession(
  event: APIGatewayProxyEventV2,
  tenantId: string,
  tenant: TenantConfig | null,
  nowSeconds: number,
): { ok: true; grant: ViewerGrant } | { ok: false; refusal: Refusal } {
  const token = sessionToken(event);
  if (!token) return { ok: false, refusal: refusalFor({ reason: "missing" }) };
  const verdict = verifyViewerToken(token, {
    tenantId,
    secrets: tenant ? viewerSecrets(tenant) : [],
    nowSeconds,
  });
  return verdict.ok ? verdict : { ok: false, refusal: refusalFor(verdict) };
}

/** True for plain-http loopback (the local server): there a `Secure` cookie would never come back. */
export function isLoopbackHttp(event: APIGatewayProxyEventV2): boolean {
  const host = (event.headers?.host ?? event.requestContext.domainName ?? "").replace(/:\d+$/, "");
  const proto = event.headers?.["x-forwarded-proto"];
  return (host === "127.0.0.1" || host === "localhost" || host === "[::1]") && proto !== "https";
}

/** The session cookie: HttpOnly, SameSite=Strict, Secure (but on loopback http), scoped to the tenant's pages. */
export function sessionCookie(
  event: APIGatewayProxyEventV2,
  tenantId: string,
  token: string,
  maxAgeSeconds: number,
): string {
  const secure = isLoopbackHttp(event) ? "" : "; Secure";
  return `${SESSION_COOKIE}=${token}; Path=/app/${encodeURIComponent(tenantId)}; Max-Age=${Math.max(0, maxAgeSeconds)}; HttpOnly; SameSite=Strict${secure}`;
}

/**
 * A form post must come from the page itself: when the browser names an origin, it is this host.
 * (SameSite=Strict and the CSRF token are the main defences; this refuses a cross-site post early.)
 */
export function sameOrigin(event: APIGatewayProxyEventV2): boolean {
  const origin = event.headers?.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host === (event.headers?.host ?? event.requestContext.domainName);
  } catch {
    return false;
  }
}
