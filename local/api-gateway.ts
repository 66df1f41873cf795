/**
 * What API Gateway (HTTP API, payload format 2.0) does in front of the functions, for running them
 * locally: which route a request takes, and the event the function is handed. The local server,
 * in-process invocations, tests and the benchmark all use these two.
 *
 * @module
 */

/** A route template in API Gateway syntax (`/sync/{tenantId}/outbox`) and what it serves. */
export interface RouteTemplate {
  method: string;
  path: string;
}

interface CompiledTemplate<R extends RouteTemplate> {
  route: R;
  segments: Array<{ literal: string } | { param: string }>;
  literalCount: number;
}

/** Routes ready for matching: `routesFor` takes these. */
export type RouteTable<R extends RouteTemplate> = ReadonlyArray<CompiledTemplate<R>>;

/** A route that fits a path, with the path's parameters (percent-decoded). */
export interface RouteMatch<R extends RouteTemplate> {
  route: R;
  pathParameters: Record<string, string>;
}

export function routeTable<R extends RouteTemplate>(routes: readonly R[]): RouteTable<R> {
  return routes.map((route) => {
    const segments = splitPath(route.path).map((segment) => {
      const param = /^\{([^{}]+)\}$/.exec(segment)?.[1];
      return param ? { param } : { literal: segment };
    });
    return { route, segments, literalCount: segments.filter((segment) => "literal" in segment).length };
  });
}

/**
 * Every route whose template fits the raw (still percent-encoded) path, whatever its method; like
 * API Gateway, the most specific (most literal segments) first. A segment that does not decode
 * fits no template.
 */
export function routesFor<R extends RouteTemplate>(table: RouteTable<R>, rawPath: string): RouteMatch<R>[] {
  const parts = splitPath(rawPath);
  return table
    .flatMap((entry) => {
      const pathParameters = fitTemplate(entry, parts);
      return pathParameters ? [{ entry, match: { route: entry.route, pathParameters } }] : [];
    })
    .sort((a, b) => b.entry.literalCount - a.entry.literalCount)
    .map(({ match }) => match);
}

/** The route serving `method rawPath`, or `undefined`. */
export function findRoute<R extends RouteTemplate>(
  table: RouteTable<R>,
  method: string,
  rawPath: string,
): RouteMatch<R> | undefined {
  return routesFor(table, rawPath).find((match) => match.route.method === method);
}

function fitTemplate<R extends RouteTemplate>(
  entry: CompiledTemplate<R>,
  parts: string[],
): Record<string, string> | undefined {
  if (parts.length !== entry.segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, segment] of entry.segments.entries()) {
    const value = safeDecode(parts[index] as string);
    if (value === undefined) return undefined;
    if ("literal" in segment) {
      if (value !== segment.literal) return undefined;
    } else {
      params[segment.param] = value;
    }
  }
  return params;
}

function splitPath(path: string): string[] {
  return path.split("/").filter((segment) => segment !== "");
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

export { apiGatewayEvent, type GatewayRequest } from "../functions/lib/gateway-event.js";
