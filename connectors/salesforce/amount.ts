import {
  type Decimal,
  formatMoney,
  multiply,
  parseDecimal,
  roundHalfUp,
  subtract,
  sum,
} from "../../domain/decimal.js";

const HUNDRED = parseDecimal("100");

/**
 * A line's total as Salesforce keeps it: quantity × unit price × (1 − discount/100), not rounded
 * (CONNECTORS §4: Salesforce sums unrounded line totals, then rounds the opportunity's amount).
 */
export function unroundedLineTotal(line: {
  quantity: unknown;
  unitPrice: unknown;
  discountPercent?: unknown;
}): Decimal {
  const discount =
    line.discountPercent === undefined || line.discountPercent === null
      ? parseDecimal("0")
      : parseDecimal(line.discountPercent);
  const net = multiply(
    multiply(parseDecimal(line.quantity), parseDecimal(line.unitPrice)),
    subtract(HUNDRED, discount),
  );
  return { units: net.units, scale: net.scale + 2 };
}

/** Salesforce's `Opportunity.Amount` for these lines: the unrounded totals summed, then rounded. */
export function salesforceAmount(
  lines: ReadonlyArray<{ quantity: unknown; unitPrice: unknown; discountPercent?: unknown }>,
  currency: string,
): string {
  return formatMoney(sum(lines.map(unroundedLineTotal)), currency);
}

/** A line's `TotalPrice` as Salesforce shows it (rounded to the currency's places). */
export function displayedLineTotal(
  line: { quantity: unknown; unitPrice: unknown; discountPercent?: unknown },
  currency: string,
): string {
  return formatMoney(roundHalfUp(unroundedLineTotal(line), 10), currency);
}
