/**
 * Salesforce sends and takes numbers as JSON numbers; quotesync keeps them as exact decimal
 * strings. A `RawNumber` is written into JSON as a number token, digit for digit, never through a
 * binary float.
 */
export class RawNumber {
  constructor(readonly text: string) {
    if (!/^-?\d+(\.\d+)?$/.test(text)) throw new RangeError(`not a plain decimal: ${text}`);
  }
  toJSON(): string {
    return `\u0000${this.text}\u0000`;
  }
}

/** JSON text with every `RawNumber` as a number token. */
export function stringifyWithNumbers(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0000(-?\d+(?:\.\d+)?)\\u0000"/g, "$1");
}
