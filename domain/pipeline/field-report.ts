import type { FieldType, TenantConfig } from "../tenant.js";

/** Whether one custom field travels between quote and opportunity, and why (SPEC §1.4). */
export interface FieldReportEntry {
  /** `lines`: quote line ↔ opportunity line; `headers`: quote ↔ opportunity. */
  level: "lines" | "headers";
  name: string;
  quoteType: FieldType | null;
  opportunityType: FieldType | null;
  travels: boolean;
  reason: string;
}

/** The tenant's declared custom fields, each with whether it maps and the reason, by level and name. */
export function fieldMappingReport(tenant: TenantConfig): FieldReportEntry[] {
  return [
    ...level("lines", tenant.fields.quoteLine, tenant.fields.opportunityLine),
    ...level("headers", tenant.fields.quote, tenant.fields.opportunity),
  ];
}

function level(
  which: "lines" | "headers",
  quote: Record<string, FieldType>,
  opportunity: Record<string, FieldType>,
): FieldReportEntry[] {
  const [quoteSide, opportunitySide] =
    which === "lines" ? ["the quote line", "the opportunity line"] : ["the quote", "the opportunity"];
  const names = [...new Set([...Object.keys(quote), ...Object.keys(opportunity)])].sort();
  return names.map((name) => {
    const quoteType = Object.hasOwn(quote, name) ? (quote[name] ?? null) : null;
    const opportunityType = Object.hasOwn(opportunity, name) ? (opportunity[name] ?? null) : null;
    let reason: string;
    if (quoteType && opportunityType && quoteType === opportunityType)
      reason = `declared as ${quoteType} on both sides: copied both ways`;
    else if (quoteType && opportunityType)
      reason = `${quoteType} on ${quoteSide}, ${opportunityType} on ${opportunitySide}: a twin of another type, kept on each side`;
    else if (quoteType) reason = `only on ${quoteSide} (no twin on ${opportunitySide}): kept there`;
    else reason = `only on ${opportunitySide} (no twin on ${quoteSide}): kept there`;
    return {
      level: which,
      name,
      quoteType,
      opportunityType,
      travels: quoteType !== null && quoteType === opportunityType,
      reason,
    };
  });
}
