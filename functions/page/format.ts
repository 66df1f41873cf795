import type { Source } from "../../domain/model.js";

/** An amount with its currency, or a dash. Decimal strings are shown as stored (exact). */
export function money(amount: string | null, currency: string | null): string {
  if (amount === null) return "—";
  const [whole = "0", fraction] = amount.split(".");
  const negative = whole.startsWith("-");
  const digits = negative ? whole.slice(1) : whole;
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${grouped}${fraction ? `.${fraction}` : ""}${currency ? ` ${currency}` : ""}`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `30 Nov 2026, 04:05 UTC`: unambiguous in every locale. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const time = date.toISOString().slice(11, 16);
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}, ${time} UTC`;
}

export function systemName(source: Source | string): string {
  if (source === "crm") return "the CRM";
  if (source === "cpq") return "the CPQ";
  return source;
}
