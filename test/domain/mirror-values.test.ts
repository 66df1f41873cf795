import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IndexedLines } from "../../domain/line-index.js";
import { mirrorFingerprint, sameMirrorValues } from "../../domain/lines.js";
import type { LineValues } from "../../domain/model.js";
import { aStoredLine } from "../support/stored-line.js";

/** Values drawn from few choices each, so that two draws are often equal, or equal but for one field. */
const fieldValue = fc.constantFrom<LineValues["fields"][string]>(null, "5", 5, "true", true, false, "");
const values: fc.Arbitrary<LineValues> = fc.record({
  productId: fc.constantFrom("p1", "p2"),
  name: fc.constantFrom(null, "Widget"),
  quantity: fc.constantFrom("1", "2"),
  unitPrice: fc.constantFrom("10", "10.5"),
  discountPercent: fc.constantFrom("0", "5"),
  billing: fc.constantFrom("one_time" as const, "recurring" as const),
  billingPeriod: fc.constantFrom(null, "month" as const),
  position: fc.constantFrom(null, 0, 1),
  serviceDate: fc.constantFrom(null, "2026-01-01"),
  fields: fc.dictionary(fc.constantFrom("Color__c", "Size__c", "Note__c"), fieldValue, { maxKeys: 3 }),
});
const mapping = fc.subarray(["Color__c", "Size__c", "Other__c"]).map((names) => new Set(names));

describe("sameMirrorValues", () => {
  it("tells what comparing the two mirror fingerprints tells", () => {
    fc.assert(
      fc.property(values, values, mapping, (a, b, mapped) => {
        const expected = mirrorFingerprint(a, mapped) === mirrorFingerprint(b, mapped);
        expect(sameMirrorValues(a, b, mapped)).toBe(expected);
        expect(sameMirrorValues(b, a, mapped)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it("tells apart a mapped field held as null from one not held, and ignores unmapped fields", () => {
    fc.assert(
      fc.property(values, mapping, (a, mapped) => {
        expect(sameMirrorValues(a, { ...a, fields: { ...a.fields } }, mapped)).toBe(true);
        const without = { ...a, fields: { ...a.fields } };
        delete without.fields.Color__c;
        const held = Object.hasOwn(a.fields, "Color__c");
        expect(sameMirrorValues(a, without, mapped)).toBe(!(held && mapped.has("Color__c")));
        expect(sameMirrorValues(a, { ...a, fields: { ...a.fields, Note__c: "changed" } }, mapped)).toBe(true);
      }),
    );
  });
});

describe("IndexedLines built from a map", () => {
  it("finds by id as one built line by line does", () => {
    const key = fc.constantFrom("k1", "k2", "k3", "k4");
    const id = fc.constantFrom(null, "a", "b");
    fc.assert(
      fc.property(fc.array(fc.tuple(key, id), { maxLength: 12 }), (entries) => {
        const plain = new Map(
          entries.map(([syncKey, lineId]) => [syncKey, aStoredLine(syncKey, { id: lineId })]),
        );
        const fromMap = new IndexedLines(plain);
        const fromEntries = new IndexedLines([...plain.entries()]);
        for (const probe of ["a", "b", "c"]) {
          expect(fromMap.findById(probe)?.syncKey).toBe(fromEntries.findById(probe)?.syncKey);
        }
        expect([...fromMap.keys()]).toEqual([...plain.keys()]);
      }),
    );
  });

  it("keeps finding the first holder as an id passes from three lines to one", () => {
    const lines = new IndexedLines();
    for (const key of ["k1", "k2", "k3"]) lines.set(key, aStoredLine(key, { id: "a" }));
    expect(lines.findById("a")?.syncKey).toBe("k1");
    lines.set("k1", aStoredLine("k1", { id: "b" }));
    expect(lines.findById("a")?.syncKey).toBe("k2");
    expect(lines.findById("b")?.syncKey).toBe("k1");
    lines.set("k2", aStoredLine("k2", { id: "b" }));
    expect(lines.findById("a")?.syncKey).toBe("k3");
    expect(lines.findById("b")?.syncKey).toBe("k1");
    lines.delete("k1");
    expect(lines.findById("b")?.syncKey).toBe("k2");
    lines.delete("k3");
    expect(lines.findById("a")).toBeUndefined();
  });
});
