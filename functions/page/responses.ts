import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { refusalPage } from "./layout.js";

/**
 * Headers of every page: never cached (tenant data), never framed, no referrer to other sites (a
 * viewer link must not leak through one; same-origin posts keep their Origin header), and only the page's own inline styles and form posts allowed.
 */
export const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "referrer-policy": "same-origin",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

export function htmlResponse(
  statusCode: number,
  body: string,
  extra: { headers?: Record<string, string>; cookies?: string[] } = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { ...PAGE_HEADERS, ...extra.headers },
    ...(extra.cookies ? { cookies: extra.cookies } : {}),
    body,
  };
}

export function refusal(
  statusCode: number,
  title: string,
  message: string,
): APIGatewayProxyStructuredResultV2 {
  return htmlResponse(statusCode, refusalPage(title, message));
}

export function errorPage(): APIGatewayProxyStructuredResultV2 {
  return refusal(500, "Something went wrong", "The page could not be shown. Try again in a moment.");
}

export function redirect(location: string): APIGatewayProxyStructuredResultV2 {
  return { statusCode: 303, headers: { ...PAGE_HEADERS, location }, body: "" };
}
