import { z } from "zod";

/** `limit` and cursor query parameters shared by the paginated reads. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().min(1).max(200).optional(),
  after: z.string().min(1).max(200).optional(),
});

export function pageQuery(parameters: Record<string, string | undefined> | null | undefined) {
  return PageQuery.parse(parameters ?? {});
}
