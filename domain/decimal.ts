/**
 * Exact decimals on BigInt (SPEC §4): money, quantities and percents never touch binary floating
 * point. A value is `units / 10^scale`; values are plain frozen-shape objects, never mutated.
 */
export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

/** Input that is not an exact decimal number within the accepted range. */
export class InvalidDecimal extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InvalidDecimal";
  }
}

/** Most integer digits (leading zeros aside) and most fraction digits a parsed value may have. */
const MAX_DIGITS = 30;
/** Longest string accepted at all: keeps BigInt parsing of hostile input cheap. */
const MAX_INPUT_LENGTH = 100;

/** A plain decimal, optionally in the exponent form of a JSON/JS number literal ("1.5e2", "1e+21"). */
const DECIMAL_PATTERN = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

const ZERO: Decimal = { units: 0n, scale: 0 };

const POWERS = Array.from({ length: 4 * MAX_DIGITS + 1 }, (_, n) => 10n ** BigInt(n));

/** 10^n as a BigInt; cached for every exponent the normal operations reach. */
function pow10(n: number): bigint {
  return POWERS[n] ?? 10n ** BigInt(n);
}

/**
 * Parses a decimal sent as a JSON string or number.
 *
 * - Strings must be a plain decimal `-?\d+(\.\d+)?`, or that followed by an exponent `e±N` as in a
 *   JSON number literal ("1.5e2" → 150). No whitespace, no leading "+", no ".5" or "5.", no hex.
 * - Numbers must be finite and are read through `String(n)`, the shortest literal that round-trips,
 *   which is exactly what the sender wrote for up to 15 significant digits. Values with more
 *   significant digits must be sent as strings (e.g. `0.1 + 0.2` arrives as 0.30000000000000004).
 * - At most 30 integer digits (leading zeros aside) and 30 fraction digits, after applying any
 *   exponent; so "1e309" is rejected rather than rounded.
 *
 * @throws InvalidDecimal for anything else (NaN, ±Infinity, "", "abc", "1.2.3", objects, …).
 */
export function parseDecimal(input: unknown): Decimal {
  let text: string;
  if (typeof input === "string") {
    text = input;
  } else if (typeof input === "number") {
    if (!Number.isFinite(input)) throw new InvalidDecimal(`${input} is not a finite number`);
    text = String(input);
  } else {
    const kind = input === null ? "null" : Array.isArray(input) ? "array" : typeof input;
    throw new InvalidDecimal(`expected a decimal string or number, got ${kind}`);
  }
  return parsePlainShort(text) ?? parseText(text);
}

/** Digits a plain string may have for `parsePlainShort`: below 2^53, so a Number holds them exactly. */
const SHORT_DIGITS = 15;

/**
 * The common case without a pattern match or substrings: `-?\d+(\.\d+)?` of at most 15 digits,
 * read into a Number (exact below 2^53). The same value `parseText` returns, or undefined to
 * leave the string to it (longer, exponent, or not a plain decimal: it decides or rejects).
 */
function parsePlainShort(text: string): Decimal | undefined {
  const negative = text.charCodeAt(0) === 45; // "-"
  let index = negative ? 1 : 0;
  let units = 0;
  let digits = 0;
  let point = -1;
  for (; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code >= 48 && code <= 57) {
      units = units * 10 + (code - 48);
      if (++digits > SHORT_DIGITS) return undefined;
    } else if (code === 46 && point === -1 && digits > 0) {
      point = digits;
    } else {
      return undefined;
    }
  }
  // No digit at all, or a point with no digit after it ("5."): not plain; `parseText` rejects it.
  if (digits === 0 || point === digits) return undefined;
  if (units === 0) return ZERO;
  const value = BigInt(units);
  return { units: negative ? -value : value, scale: point === -1 ? 0 : digits - point };
}

/** `parseDecimal` of a string, by the pattern: every form it accepts, and its errors. */
function parseText(text: string): Decimal {
  const match = text.length <= MAX_INPUT_LENGTH ? DECIMAL_PATTERN.exec(text) : null;
  if (!match) throw new InvalidDecimal(`${JSON.stringify(text.slice(0, 40))} is not a decimal number`);
  const [, sign, whole = "", fraction = "", exponent] = match;

  const digits = `${whole}${fraction}`;
  // Exponent text is at most 100 characters, so Number() only ever sees an integer literal here.
  let scale = fraction.length - (exponent === undefined ? 0 : Number(exponent));
  const firstSignificant = digits.search(/[1-9]/);
  if (firstSignificant === -1) {
    if (scale > MAX_DIGITS) throw new InvalidDecimal(`more than ${MAX_DIGITS} fraction digits`);
    return ZERO;
  }
  if (digits.length - firstSignificant - scale > MAX_DIGITS) {
    throw new InvalidDecimal(`more than ${MAX_DIGITS} integer digits`);
  }
  if (scale > MAX_DIGITS) throw new InvalidDecimal(`more than ${MAX_DIGITS} fraction digits`);

  let units = BigInt(digits.slice(firstSignificant));
  if (scale < 0) {
    units *= pow10(-scale);
    scale = 0;
  }
  return { units: sign === "-" ? -units : units, scale };
}

/** True when `parseDecimal` would accept `input`. */
export function isDecimalLike(input: unknown): boolean {
  try {
    parseDecimal(input);
    return true;
  } catch {
    return false;
  }
}

/** Units of `value` at a scale that is at least its own. */
function unitsAt(value: Decimal, scale: number): bigint {
  return scale === value.scale ? value.units : value.units * pow10(scale - value.scale);
}

/**
 * Rounds to at most `places` decimal places, half away from zero ("half-up" on magnitudes:
 * 0.0000005 → 0.000001, -0.0000005 → -0.000001). Values already that short are returned as is.
 */
export function roundHalfUp(value: Decimal, places: number): Decimal {
  if (!Number.isSafeInteger(places) || places < 0) throw new RangeError(`invalid places: ${places}`);
  if (value.scale <= places) return value;
  const divisor = pow10(value.scale - places);
  const negative = value.units < 0n;
  const magnitude = negative ? -value.units : value.units;
  let quotient = magnitude / divisor;
  if ((magnitude % divisor) * 2n >= divisor) quotient += 1n;
  return { units: negative ? -quotient : quotient, scale: places };
}

/** Exact a + b. */
export function add(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return { units: unitsAt(a, scale) + unitsAt(b, scale), scale };
}

/** Exact a − b. */
export function subtract(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return { units: unitsAt(a, scale) - unitsAt(b, scale), scale };
}

/** Exact a × b (the scales add up; round afterwards if needed). */
export function multiply(a: Decimal, b: Decimal): Decimal {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

/** Numeric order of a and b, regardless of scale ("1.50" equals "1.5"). */
export function compare(a: Decimal, b: Decimal): -1 | 0 | 1 {
  const scale = Math.max(a.scale, b.scale);
  const left = unitsAt(a, scale);
  const right = unitsAt(b, scale);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** True for zero at any scale. */
export function isZero(value: Decimal): boolean {
  return value.units === 0n;
}

/** True for values below zero (zero is never negative). */
export function isNegative(value: Decimal): boolean {
  return value.units < 0n;
}

/** Exact sum; zero for an empty list. One rescale per value, so long lists stay linear. */
export function sum(values: readonly Decimal[]): Decimal {
  let scale = 0;
  for (const value of values) if (value.scale > scale) scale = value.scale;
  let units = 0n;
  for (const value of values) units += unitsAt(value, scale);
  return { units, scale };
}

/** Prints exactly `places` decimals, rounding half-up first if the value has more. */
function formatFixed(value: Decimal, places: number): string {
  const units = unitsAt(roundHalfUp(value, places), places);
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(places + 1, "0");
  const point = digits.length - places;
  const text = places > 0 ? `${digits.slice(0, point)}.${digits.slice(point)}` : digits;
  return negative ? `-${text}` : text;
}

/**
 * Canonical form for quantities, prices and percents: no exponent, no "+", no trailing fraction
 * zeros, zero as "0" ("1.50" → "1.5", "2.000" → "2", "-0" → "0"). Equal values print equally.
 */
export function toCanonicalString(value: Decimal): string {
  let { units, scale } = value;
  if (units === 0n) return "0";
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  return formatFixed({ units, scale }, scale);
}

/** ISO 4217 exponents that differ from the default 2. */
const MINOR_UNITS = new Map<string, number>();
for (const code of "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(" ")) {
  MINOR_UNITS.set(code, 0);
}
for (const code of "BHD IQD JOD KWD LYD OMR TND".split(" ")) MINOR_UNITS.set(code, 3);
for (const code of "CLF UYW".split(" ")) MINOR_UNITS.set(code, 4);

/** ISO 4217 minor units (decimal places) of a currency code: 2 unless the currency says otherwise. */
export function currencyMinorUnits(code: string): number {
  return MINOR_UNITS.get(code.toUpperCase()) ?? 2;
}

/**
 * Money with exactly the currency's minor-unit places ("200.00", JPY "200", BHD "1.852"),
 * rounding half-up if the value has more.
 */
export function formatMoney(value: Decimal, currencyCode: string): string {
  return formatFixed(value, currencyMinorUnits(currencyCode));
}

/** Places quantities and unit prices keep (SPEC §4). */
const QUANTITY_PLACES = 6;
/** Places percents keep (SPEC §4). */
const PERCENT_PLACES = 4;

/** Parses a quantity, rounds it half-up to 6 places and returns its canonical string. */
export function normalizeQuantity(input: unknown): string {
  return toCanonicalString(roundHalfUp(parseDecimal(input), QUANTITY_PLACES));
}

/** Parses a unit price, rounds it half-up to 6 places and returns its canonical string ("133.3300001" → "133.33"). */
export function normalizeUnitPrice(input: unknown): string {
  return toCanonicalString(roundHalfUp(parseDecimal(input), QUANTITY_PLACES));
}

/** Parses a percent, rounds it half-up to 4 places and returns its canonical string. */
export function normalizePercent(input: unknown): string {
  return toCanonicalString(roundHalfUp(parseDecimal(input), PERCENT_PLACES));
}

const HUNDRED: Decimal = { units: 100n, scale: 0 };

/**
 * Line total = quantity × unit price × (1 − discount/100), exact, then half-up to the currency's
 * minor units and printed with `formatMoney`. Inputs are first normalized like stored values
 * (6/6/4 places), so a raw echo and its stored form always give the same total. A missing or null
 * discount means 0. Ranges (negative values, discounts over 100) are the caller's to validate.
 */
export function lineTotal(line: LineAmounts): string {
  return formatMoney(lineTotalValue(line), line.currency);
}

/** What a line total is computed from. */
export interface LineAmounts {
  quantity: unknown;
  unitPrice: unknown;
  discountPercent?: unknown;
  currency: string;
}

/**
 * The line total as a value, already rounded to the currency's minor units: `lineTotal` without
 * printing it, so sums of many lines need not print and re-read each total.
 */
export function lineTotalValue(line: LineAmounts): Decimal {
  const quantity = roundHalfUp(parseDecimal(line.quantity), QUANTITY_PLACES);
  const unitPrice = roundHalfUp(parseDecimal(line.unitPrice), QUANTITY_PLACES);
  const discount =
    line.discountPercent === undefined || line.discountPercent === null
      ? ZERO
      : roundHalfUp(parseDecimal(line.discountPercent), PERCENT_PLACES);
  // gross × (100 − d) / 100, kept exact by shifting the scale by 2 instead of dividing.
  const net = multiply(multiply(quantity, unitPrice), subtract(HUNDRED, discount));
  return roundHalfUp({ units: net.units, scale: net.scale + 2 }, currencyMinorUnits(line.currency));
}

/** Exact sum of money strings, printed with the currency's minor units ("0.00" for none). */
export function sumMoney(totals: readonly string[], currency: string): string {
  return formatMoney(sum(totals.map(parseDecimal)), currency);
}
