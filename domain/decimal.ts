/**
 * Exact decimals on BigInt (SPEC §4): money, quantities and percents never touch binary floating
 * point. A value is `units / 10^scale`.
 */
export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

/** Input that is not an exact decimal number. */
export class InvalidDecimal extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InvalidDecimal";
  }
}

const PATTERN = /^(-?)(\d{1,30})(?:\.(\d{1,30}))?$/;
const EXPONENT_PATTERN = /^(-?)(\d+)(?:\.(\d+))?e([+-]?\d+)$/i;

/**
 * Parses a JSON string or number. Numbers are read through `String(n)`, the shortest literal that
 * round-trips, which is the literal the sender wrote for up to 15 significant digits; send longer
 * values as strings.
 */
export function parseDecimal(input: unknown): Decimal {
  let text: string;
  if (typeof input === "number") {
    if (!Number.isFinite(input)) throw new InvalidDecimal(`${input} is not a finite number`);
    text = String(input);
  } else if (typeof input === "string") {
    text = input.trim();
  } else {
    throw new InvalidDecimal(
      `expected a decimal string or number, got ${input === null ? "null" : typeof input}`,
    );
  }
  const exponent = EXPONENT_PATTERN.exec(text);
  if (exponent) text = expandExponent(exponent);
  const match = PATTERN.exec(text);
  if (!match) throw new InvalidDecimal(`${JSON.stringify(text.slice(0, 40))} is not a decimal number`);
  const [, sign, whole, fraction = ""] = match;
  const units = BigInt(`${whole}${fraction}`) * (sign === "-" ? -1n : 1n);
  return { units, scale: fraction.length };
}

function expandExponent(match: RegExpExecArray): string {
  const [, sign = "", whole = "", fraction = "", exponentText = "0"] = match;
  const exponent = Number(exponentText);
  if (Math.abs(exponent) > 30) throw new InvalidDecimal(`exponent ${exponentText} is out of range`);
  const digits = `${whole}${fraction}`;
  const point = whole.length + exponent;
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

export function isDecimalLike(input: unknown): boolean {
  try {
    parseDecimal(input);
    return true;
  } catch {
    return false;
  }
}

function rescale(value: Decimal, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}

/** Rounds half away from zero ("half-up" on magnitudes) to `places` decimal places. */
export function roundHalfUp(value: Decimal, places: number): Decimal {
  if (value.scale <= places) return value;
  const divisor = 10n ** BigInt(value.scale - places);
  const negative = value.units < 0n;
  const magnitude = negative ? -value.units : value.units;
  let quotient = magnitude / divisor;
  if ((magnitude % divisor) * 2n >= divisor) quotient += 1n;
  return { units: negative ? -quotient : quotient, scale: places };
}

export function add(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return { units: rescale(a, scale) + rescale(b, scale), scale };
}

export function subtract(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return { units: rescale(a, scale) - rescale(b, scale), scale };
}

export function multiply(a: Decimal, b: Decimal): Decimal {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

export function compare(a: Decimal, b: Decimal): -1 | 0 | 1 {
  const scale = Math.max(a.scale, b.scale);
  const left = rescale(a, scale);
  const right = rescale(b, scale);
  return left < right ? -1 : left > right ? 1 : 0;
}

export function isZero(value: Decimal): boolean {
  return value.units === 0n;
}

export function isNegative(value: Decimal): boolean {
  return value.units < 0n;
}

export function sum(values: Decimal[]): Decimal {
  return values.reduce(add, { units: 0n, scale: 0 });
}

/** Prints exactly `places` decimals. */
function formatFixed(value: Decimal, places: number): string {
  const rounded = roundHalfUp(value, places);
  const units = rescale(rounded, places);
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(places + 1, "0");
  const whole = digits.slice(0, digits.length - places);
  const fraction = digits.slice(digits.length - places);
  return `${negative ? "-" : ""}${whole}${places > 0 ? `.${fraction}` : ""}`;
}

/** Canonical form: no exponent, no trailing fraction zeros, no "-0" ("1.50" → "1.5"). */
export function toCanonicalString(value: Decimal): string {
  let { units, scale } = value;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  return formatFixed({ units, scale }, scale);
}

const MINOR_UNITS: Record<string, number> = {
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  CLF: 4,
  UYW: 4,
};

/** ISO 4217 minor units of a currency: 2 unless the currency says otherwise. */
export function currencyMinorUnits(code: string): number {
  return MINOR_UNITS[code] ?? 2;
}

/** Money in the currency's minor units, always with exactly that many decimals ("200.00", JPY "152"). */
export function formatMoney(value: Decimal, currency: string): string {
  return formatFixed(value, currencyMinorUnits(currency));
}

export function normalizeQuantity(input: unknown): string {
  return toCanonicalString(roundHalfUp(parseDecimal(input), 6));
}

export function normalizeUnitPrice(input: unknown): string {
  return toCanonicalString(roundHalfUp(parseDecimal(input), 6));
}

export function normalizePercent(input: unknown): string {
  return toCanonicalString(roundHalfUp(parseDecimal(input), 4));
}

const HUNDRED: Decimal = { units: 100n, scale: 0 };

/** quantity × unit price × (1 − discount/100), half-up to the currency's minor units. */
export function lineTotal(line: {
  quantity: unknown;
  unitPrice: unknown;
  discountPercent?: unknown;
  currency: string;
}): string {
  const gross = multiply(parseDecimal(line.quantity), parseDecimal(line.unitPrice));
  const discount =
    line.discountPercent === undefined || line.discountPercent === null
      ? { units: 0n, scale: 0 }
      : parseDecimal(line.discountPercent);
  // gross × (100 − d) / 100, kept exact by shifting the scale instead of dividing.
  const net = multiply(gross, subtract(HUNDRED, discount));
  return formatMoney({ units: net.units, scale: net.scale + 2 }, line.currency);
}

/** Sum of money strings, exact, printed in the currency's minor units. */
export function sumMoney(totals: string[], currency: string): string {
  return formatMoney(sum(totals.map(parseDecimal)), currency);
}
