import { type Decimal, formatMoney, lineTotalValue, sum } from "./decimal.js";
import type { LineInput } from "./events.js";
import type { FieldMap, LineValues, MirrorLine, Source, StoredLine } from "./model.js";

/**
 * Turns a line as a system sent it into normalized values. An optional field the sender omits keeps
 * what quotesync holds for the line (a system without, say, line positions does not clear the
 * other's), and custom fields merge the same way; `null` clears. A new line gets the defaults.
 */
export function lineValuesFrom(input: LineInput, previous: StoredLine | undefined): LineValues {
  const kept = <T>(value: T | undefined, held: T | undefined, fallback: T): T =>
    value !== undefined ? value : held !== undefined ? held : fallback;
  return {
    productId: input.productId,
    name: kept(input.name, previous?.name, null),
    quantity: input.quantity,
    unitPrice: input.unitPrice,
    discountPercent:
      input.discountPercent === null ? "0" : kept(input.discountPercent, previous?.discountPercent, "0"),
    billing: input.billing === null ? "one_time" : kept(input.billing, previous?.billing, "one_time"),
    billingPeriod: kept(input.billingPeriod, previous?.billingPeriod, null),
    position: kept(input.position, previous?.position, null),
    serviceDate: kept(input.serviceDate, previous?.serviceDate, null),
    fields: { ...(previous?.fields ?? {}), ...(input.fields ?? {}) },
  };
}

/** The values that travel between the systems: standard fields and mapped custom fields. */
export function mirroredValues(
  values: LineValues,
  mappedFields: ReadonlySet<string>,
): Omit<MirrorLine, "id" | "syncKey"> {
  return {
    productId: values.productId,
    name: values.name,
    quantity: values.quantity,
    unitPrice: values.unitPrice,
    discountPercent: values.discountPercent,
    billing: values.billing,
    billingPeriod: values.billingPeriod,
    position: values.position,
    serviceDate: values.serviceDate,
    fields: pickFields(values.fields, mappedFields),
  };
}

/** The values of a line besides its custom fields, as `mirrorFingerprint` lists them. */
export const STANDARD_LINE_FIELDS = [
  "productId",
  "name",
  "quantity",
  "unitPrice",
  "discountPercent",
  "billing",
  "billingPeriod",
  "position",
  "serviceDate",
] as const satisfies ReadonlyArray<keyof LineValues>;

/** A stable fingerprint of the mirrored values, used to tell echoes from changes. */
export function mirrorFingerprint(values: LineValues, mappedFields: ReadonlySet<string>): string {
  const fields = Object.keys(values.fields)
    .filter((name) => mappedFields.has(name))
    .sort()
    .map((name) => [name, normalizeFieldValue(values.fields[name])]);
  return JSON.stringify([
    values.productId,
    values.name,
    values.quantity,
    values.unitPrice,
    values.discountPercent,
    values.billing,
    values.billingPeriod,
    values.position,
    values.serviceDate,
    fields,
  ]);
}

/**
 * True when two value sets mirror the same: what comparing their `mirrorFingerprint`s would tell
 * (the standard values, and the mapped custom fields each holds), without building either string.
 */
export function sameMirrorValues(a: LineValues, b: LineValues, mappedFields: ReadonlySet<string>): boolean {
  for (const key of STANDARD_LINE_FIELDS) if ((a[key] ?? null) !== (b[key] ?? null)) return false;
  for (const name of mappedFields) {
    const held = Object.hasOwn(a.fields, name);
    if (held !== Object.hasOwn(b.fields, name)) return false;
    if (held && normalizeFieldValue(a.fields[name]) !== normalizeFieldValue(b.fields[name])) return false;
  }
  return true;
}

/**
 * True when two value sets are equal on everything quotesync stores for one side: what their
 * fingerprints over all of both sides' fields would tell, compared field by field (no strings
 * built).
 */
export function sameStoredValues(a: LineValues, b: LineValues): boolean {
  for (const key of STANDARD_LINE_FIELDS) if ((a[key] ?? null) !== (b[key] ?? null)) return false;
  // The same field names (a field held as null is not a field left out), with the same values.
  const names = Object.keys(a.fields);
  if (names.length !== Object.keys(b.fields).length) return false;
  for (const name of names) {
    if (!Object.hasOwn(b.fields, name)) return false;
    if (normalizeFieldValue(a.fields[name]) !== normalizeFieldValue(b.fields[name])) return false;
  }
  return true;
}

function normalizeFieldValue(value: FieldMap[string] | undefined): unknown {
  return typeof value === "number" ? String(value) : (value ?? null);
}

export function pickFields(fields: FieldMap, names: ReadonlySet<string>): FieldMap {
  const picked: FieldMap = {};
  for (const name of names) {
    if (Object.hasOwn(fields, name)) picked[name] = fields[name] ?? null;
  }
  return picked;
}

/**
 * The values the target side must hold for a line: the mirrored values of the source with the
 * target's own, unmapped custom fields kept.
 */
export function valuesForTarget(
  source: LineValues,
  target: LineValues | undefined,
  mappedFields: ReadonlySet<string>,
): LineValues {
  const ownFields: FieldMap = {};
  for (const [name, value] of Object.entries(target?.fields ?? {})) {
    if (!mappedFields.has(name)) ownFields[name] = value;
  }
  const mirrored = mirroredValues(source, mappedFields);
  return { ...mirrored, fields: { ...ownFields, ...mirrored.fields } };
}

export function toMirrorLine(line: StoredLine, mappedFields: ReadonlySet<string>): MirrorLine {
  return { id: line.id, syncKey: line.syncKey, ...mirroredValues(line, mappedFields) };
}

export function storedLine(
  values: LineValues,
  meta: {
    syncKey: string;
    id: string | null;
    changedAt: number;
    changedBy: Source;
    outdatedMirrors?: string[];
  },
): StoredLine {
  // Every field spelled out, in one order: all stored lines share one object shape (a spread of
  // differently built value objects gave each its own, and slowed every later access).
  return {
    productId: values.productId,
    name: values.name,
    quantity: values.quantity,
    unitPrice: values.unitPrice,
    discountPercent: values.discountPercent,
    billing: values.billing,
    billingPeriod: values.billingPeriod,
    position: values.position,
    serviceDate: values.serviceDate,
    fields: values.fields,
    syncKey: meta.syncKey,
    id: meta.id,
    changedAt: meta.changedAt,
    changedBy: meta.changedBy,
    deleted: false,
    outdatedMirrors: meta.outdatedMirrors ?? [],
  };
}

/**
 * A tombstone for a line quotesync never saw, deleted by its owner: an upsert of it delivered
 * late (out of order) must not bring it back.
 */
export function tombstoneForUnknownLine(
  id: string,
  syncKey: string,
  changedAt: number,
  changedBy: Source,
): StoredLine {
  return {
    ...storedLine(
      {
        productId: "",
        name: null,
        quantity: "0",
        unitPrice: "0",
        discountPercent: "0",
        billing: "one_time",
        billingPeriod: null,
        position: null,
        serviceDate: null,
        fields: {},
      },
      { syncKey, id, changedAt, changedBy },
    ),
    deleted: true,
  };
}

/** Lines that exist (not tombstones), in a stable order: position, then sync key. */
export function liveLines(lines: Map<string, StoredLine>): StoredLine[] {
  return [...lines.values()]
    .filter((line) => !line.deleted)
    .sort(
      (a, b) =>
        (a.position ?? Number.MAX_SAFE_INTEGER) - (b.position ?? Number.MAX_SAFE_INTEGER) ||
        (a.syncKey < b.syncKey ? -1 : 1),
    );
}

/** Sum of the line totals of the live lines, in the currency's minor units (SPEC §4). */
export function subtotal(lines: Map<string, StoredLine>, currency: string): string {
  const totals: Decimal[] = [];
  for (const line of lines.values()) {
    if (line.deleted) continue;
    totals.push(
      lineTotalValue({
        quantity: line.quantity,
        unitPrice: line.unitPrice,
        discountPercent: line.discountPercent,
        currency,
      }),
    );
  }
  return formatMoney(sum(totals), currency);
}

/**
 * The outdated-mirror list of a line about to be overwritten on its owner's side. If the value
 * being replaced reached the owner by a mirror, that mirror (or a duplicate) may still be in
 * flight: an echo of it must be recognised, so it is remembered. The owner's own values are not,
 * so an owner can always go back to a value it typed itself, unless quotesync sent them back to
 * it (`sentToOwner`).
 */
export function outdatedAfterOverwrite(
  previous: StoredLine | undefined,
  owner: Source,
  mappedFields: ReadonlySet<string>,
): string[] {
  if (!previous || previous.deleted) return [];
  if (previous.changedBy === owner && !previous.sentToOwner) return previous.outdatedMirrors;
  return rememberOutdated(previous.outdatedMirrors, mirrorFingerprint(previous, mappedFields));
}

/**
 * Keeps the outdated-mirror list short: only the most recent few can still be in flight. It
 * holds digests, so a line item stays the same small size however large its values are.
 */
export function rememberOutdated(list: string[], fingerprint: string): string[] {
  const digest = fingerprintDigest(fingerprint);
  const next = list.filter((entry) => entry !== digest);
  next.push(digest);
  return next.slice(-8);
}

/** True when `fingerprint` is one of the outdated mirrors remembered for `line`. */
export function isOutdatedMirror(line: StoredLine, fingerprint: string): boolean {
  return line.outdatedMirrors.includes(fingerprintDigest(fingerprint));
}

/**
 * A 64-bit digest of a fingerprint (two independent 32-bit FNV-1a style hashes). Compared only
 * among the few values one line was mirrored with, so collisions are out of practical reach.
 */
export function fingerprintDigest(fingerprint: string): string {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let index = 0; index < fingerprint.length; index++) {
    const code = fingerprint.charCodeAt(index);
    a = Math.imul(a ^ code, 0x01000193);
    b = Math.imul(b ^ code, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return `${(a >>> 0).toString(36)}.${(b >>> 0).toString(36)}`;
}
