import { z } from "zod";

/** Cursors are base64url text the reads gave out; what is inside is checked by the store. */
const Cursor = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9_-]+$/, "a cursor is the base64url text a previous page gave as next");

/** `limit` and cursor query parameters shared by the paginated reads. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: Cursor.optional(),
  after: Cursor.optional(),
});

/**
 * An empty parameter (`?cursor=`, `?after=&limit=`, as SPEC.md writes the routes and as a
 * connector holding no cursor yet sends them) means the parameter is absent: the first page.
 */
export function pageQuery(parameters: Record<string, string | undefined> | null | undefined) {
  const given = Object.fromEntries(Object.entries(parameters ?? {}).filter(([, value]) => value !== ""));
  return PageQuery.parse(given);
}
