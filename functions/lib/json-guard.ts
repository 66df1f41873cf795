/**
 * Cheap checks on a JSON body that run around `JSON.parse`: a depth limit scanned on the text
 * before parsing (a deeply nested body parses, but anything recursive that touches it later —
 * zod, JSON.stringify in a log line — would overflow the stack), and a refusal of the keys that
 * can reach an object's prototype.
 *
 * @module
 */

/** No event nests deeper than ~6 levels; this leaves room and stays far from any stack limit. */
export const MAX_JSON_DEPTH = 32;

/** Keys refused anywhere in a body: they can reach or replace an object's prototype. */
export const RESERVED_JSON_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** True when the JSON text nests objects/arrays deeper than `max` (brackets inside strings do not count). */
export function nestsDeeperThan(text: string, max: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === BACKSLASH) index++;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/** Paths of every reserved key in a parsed body (at most `limit`), walked without recursion. */
export function reservedKeyPaths(value: unknown, limit = 10): Array<(string | number)[]> {
  const found: Array<(string | number)[]> = [];
  const pending: Array<{ value: unknown; path: (string | number)[] }> = [{ value, path: [] }];
  while (pending.length > 0 && found.length < limit) {
    const next = pending.pop();
    if (!next || typeof next.value !== "object" || next.value === null) continue;
    if (Array.isArray(next.value)) {
      next.value.forEach((item, index) => {
        if (typeof item === "object" && item !== null)
          pending.push({ value: item, path: [...next.path, index] });
      });
      continue;
    }
    for (const key of Object.keys(next.value)) {
      if (RESERVED_JSON_KEYS.has(key)) found.push([...next.path, key]);
      else {
        const item = (next.value as Record<string, unknown>)[key];
        if (typeof item === "object" && item !== null)
          pending.push({ value: item, path: [...next.path, key] });
      }
    }
  }
  return found;
}
