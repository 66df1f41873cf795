import type { HubSpotConnector } from "../../domain/connectors.js";
import type { ConnectorStore } from "../applier.js";
import { HubSpotRefused, HubSpotUnavailable } from "./errors.js";

/**
 * The bearer token a HubSpot call carries (CONNECTORS §3 "Authentication"): a private app's token as
 * configured, or a public app's OAuth access token obtained with its refresh token through
 * `POST /oauth/v1/token` (`grant_type=refresh_token`, form-encoded; the answer holds `access_token`
 * and `expires_in` in seconds, 1800 today — HubSpot's OAuth tokens API, "Refresh an access token").
 * An OAuth token is cached (in the process and in the connector store, shared by concurrent
 * functions) until shortly before it expires; after a 401 the client asks for a fresh one once.
 */
export interface AccessTokens {
  /** A token believed valid now. */
  current(): Promise<string>;
  /** A new token, after HubSpot refused the last one (null: there is no other to try). */
  refreshed(): Promise<string | null>;
}

export const OAUTH_TOKEN_PATH = "/oauth/v1/token";
/** A cached token is not used in its last minutes: a call made with it must still arrive in time. */
export const EXPIRY_MARGIN_MS = 5 * 60_000;

export function staticToken(token: string): AccessTokens {
  return { current: async () => token, refreshed: async () => null };
}

interface CachedToken {
  accessToken: string;
  expiresAt: number;
}

export interface OAuthOptions {
  oauth: NonNullable<HubSpotConnector["oauth"]>;
  baseUrl: string;
  portalId: number;
  tenantId: string;
  store: ConnectorStore;
  fetch: typeof fetch;
  now: () => number;
}

/** Tokens for the connector: OAuth when it has `oauth`, else its private-app token, else null. */
export function tokensFor(
  connector: HubSpotConnector,
  options: Omit<OAuthOptions, "oauth" | "baseUrl" | "portalId">,
): AccessTokens | null {
  if (connector.oauth) {
    return oauthTokens({
      ...options,
      oauth: connector.oauth,
      baseUrl: connector.baseUrl,
      portalId: connector.portalId,
    });
  }
  return connector.accessToken ? staticToken(connector.accessToken) : null;
}

export function oauthTokens(options: OAuthOptions): AccessTokens {
  const key = `hubspot#oauth#${options.portalId}`;
  let held: CachedToken | null = null;
  const usable = (token: CachedToken | null): token is CachedToken =>
    token !== null && token.expiresAt - EXPIRY_MARGIN_MS > options.now();
  const refresh = async (): Promise<string> => {
    const token = await requestToken(options);
    held = token;
    const previous = await options.store.get(options.tenantId, key);
    // Another function may have refreshed meanwhile: both tokens are valid, losing the race is fine.
    const ttlSeconds = Math.max(60, Math.ceil((token.expiresAt - options.now()) / 1000));
    await options.store.put(options.tenantId, key, token, previous?.version ?? null, ttlSeconds);
    return token.accessToken;
  };
  return {
    async current() {
      if (usable(held)) return held.accessToken;
      const cached = (await options.store.get(options.tenantId, key))?.value as CachedToken | undefined;
      if (cached && typeof cached.accessToken === "string" && usable(cached)) {
        held = cached;
        return cached.accessToken;
      }
      return refresh();
    },
    refreshed: refresh,
  };
}

async function requestToken(options: OAuthOptions): Promise<CachedToken> {
  const asked = options.now();
  let response: Response;
  try {
    response = await options.fetch(new URL(OAUTH_TOKEN_PATH, options.baseUrl), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        client_id: options.oauth.clientId,
        client_secret: options.oauth.clientSecret,
        refresh_token: options.oauth.refreshToken,
      }).toString(),
      signal: AbortSignal.timeout(5_000),
    });
  } catch (error) {
    throw new HubSpotUnavailable(`HubSpot OAuth unreachable: ${(error as Error).message}`, 0, null);
  }
  const answer = (await response.json().catch(() => null)) as {
    access_token?: unknown;
    expires_in?: unknown;
    status?: unknown;
    message?: unknown;
  } | null;
  if (response.status === 429 || response.status >= 500) {
    throw new HubSpotUnavailable(`HubSpot OAuth token refresh → ${response.status}`, response.status, null);
  }
  if (!response.ok || typeof answer?.access_token !== "string" || typeof answer.expires_in !== "number") {
    // BAD_REFRESH_TOKEN (400): the app was uninstalled or the token revoked; no retry fixes it.
    const status = typeof answer?.status === "string" ? answer.status : null;
    throw new HubSpotRefused(
      `HubSpot OAuth token refresh refused (${response.status}${status ? ` ${status}` : ""})`,
      response.status,
      status ?? "OAUTH_REFUSED",
    );
  }
  return { accessToken: answer.access_token, expiresAt: asked + answer.expires_in * 1000 };
}
