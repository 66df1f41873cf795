import { z } from "zod";

/** `limit` and cursor query parameters shared by the paginated reads. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().min(1).max(200).optional(),
  after: z.string().min(1).max(200).optional(),
});

/**
 * An empty parameter (`?cursor=`, `?after=&limit=`, as SPEC.md writes the routes and as a
 * connector holding no cursor yet sends them) means the parameter is absent: the first page.
 */
export function pageQuery(parameters: Record<string, string | undefined> | null | undefined) {
  const given = Object.fromEntries(Object.entries(parameters ?? {}).filter(([, value]) => value !== ""));
  return PageQuery.parse(given);
}
