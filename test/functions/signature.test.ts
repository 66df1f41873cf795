import { describe, expect, it } from "vitest";
import {
  MAX_SIGNATURE_HEADER_BYTES,
  SIGNATURE_HEADER,
  signRequest,
  type VerifySignatureInput,
  verifySignature,
} from "../../functions/lib/signature.js";

/*
 * Known-answer vectors, computed once outside this code base and pasted here, e.g.
 *   printf '%s' '1700000000.POST./webhooks/crm/demo.{}' | openssl dgst -sha256 -hmac demo-crm-secret
 * and cross-checked with Python's hmac module.
 */
const T = 1700000000;

const POST_BODY =
  '{"eventId":"evt-1","type":"opportunity.upserted","occurredAt":"2023-11-14T22:13:20Z","data":{"opportunity":{"id":"opp-1","currency":"USD"}}}';
const POST_V1 = "0a77ba3459a31115a6294745dd60488e1217ad7fce27c4619f3b61ac7babdde2";

const GET_PATH = "/sync/demo/outbox?after=c-41&limit=10";
const GET_V1 = "e30cd930598e7597104535afb7bc30f3d05df9f5d6e0707bc7e90f2a955d94ed";

// "Café Müller – 東京 😀": precomposed é, ü, an en dash, two CJK characters and an astral emoji (4 UTF-8 bytes).
const UTF8_BODY = '{"name":"Caf\u00e9 M\u00fcller \u2013 \u6771\u4eac \u{1F600}"}';
const UTF8_T = 1700000300;
const UTF8_V1 = "08e307db90484a83075cd6b138c7ed29c2720617fc0f6b72bea342942c72044c";

const EMPTY_OBJECT_V1 = "adcb4fe7f2f39a3e476cb12f0a071b9e85f481461f81795716d1b5886a4bdba5"; // body "{}"
const EMPTY_OBJECT_NEWLINE_V1 = "7d336b964a512a5f3bc96d455565f90d8d38d3cd9649064d08fba592bdc080af"; // body "{}\n"
const EMPTY_OBJECT_OLD_SECRET_V1 = "199ddf8c66357d38ee40cc946f669dc2d8fff5b3e5c19f99cef48d334597fb50"; // "old-crm-secret"

const CRM = "demo-crm-secret";
const CPQ = "demo-cpq-secret";

/** A valid POST /webhooks/crm/demo with body "{}" at T, overridable field by field. */
function verify(overrides: Partial<VerifySignatureInput> = {}) {
  return verifySignature({
    header: `t=${T},v1=${EMPTY_OBJECT_V1}`,
    secrets: [CRM],
    method: "POST",
    pathWithQuery: "/webhooks/crm/demo",
    rawBody: "{}",
    nowSeconds: T,
    ...overrides,
  });
}

const OK = { ok: true };
const fail = (reason: string) => ({ ok: false, reason });

describe("signRequest", () => {
  it("matches the known-answer vector for a POST webhook", () => {
    expect(
      signRequest({
        secret: CRM,
        method: "POST",
        pathWithQuery: "/webhooks/crm/demo",
        body: POST_BODY,
        timestamp: T,
      }),
    ).toBe(`t=${T},v1=${POST_V1}`);
  });

  it("matches the known-answer vector for a GET with a query string (empty body)", () => {
    expect(signRequest({ secret: CPQ, method: "GET", pathWithQuery: GET_PATH, timestamp: T })).toBe(
      `t=${T},v1=${GET_V1}`,
    );
    expect(signRequest({ secret: CPQ, method: "GET", pathWithQuery: GET_PATH, body: "", timestamp: T })).toBe(
      `t=${T},v1=${GET_V1}`,
    );
  });

  it("signs a non-ASCII body as its UTF-8 bytes, whether given as a string or a Buffer", () => {
    const input = { secret: CPQ, method: "POST", pathWithQuery: "/webhooks/cpq/demo", timestamp: UTF8_T };
    expect(signRequest({ ...input, body: UTF8_BODY })).toBe(`t=${UTF8_T},v1=${UTF8_V1}`);
    expect(signRequest({ ...input, body: Buffer.from(UTF8_BODY, "utf8") })).toBe(`t=${UTF8_T},v1=${UTF8_V1}`);
  });

  it("upper-cases the method", () => {
    expect(
      signRequest({
        secret: CRM,
        method: "post",
        pathWithQuery: "/webhooks/crm/demo",
        body: "{}",
        timestamp: T,
      }),
    ).toBe(`t=${T},v1=${EMPTY_OBJECT_V1}`);
  });

  it("covers every body byte, including a trailing newline", () => {
    expect(
      signRequest({
        secret: CRM,
        method: "POST",
        pathWithQuery: "/webhooks/crm/demo",
        body: "{}\n",
        timestamp: T,
      }),
    ).toBe(`t=${T},v1=${EMPTY_OBJECT_NEWLINE_V1}`);
  });

  it("defaults the timestamp to now", () => {
    const before = Math.floor(Date.now() / 1000);
    const header = signRequest({ secret: CRM, method: "POST", pathWithQuery: "/x", body: "{}" });
    const after = Math.floor(Date.now() / 1000);
    const t = Number(/^t=(\d+),v1=[0-9a-f]{64}$/.exec(header)?.[1]);
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(after);
  });

  it("refuses an empty secret, a body on GET and a bad timestamp", () => {
    const base = { method: "POST", pathWithQuery: "/x", timestamp: T };
    expect(() => signRequest({ ...base, secret: "" })).toThrow(TypeError);
    expect(() => signRequest({ ...base, secret: CRM, method: "GET", body: "{}" })).toThrow(TypeError);
    expect(() => signRequest({ ...base, secret: CRM, timestamp: 1.5 })).toThrow(RangeError);
    expect(() => signRequest({ ...base, secret: CRM, timestamp: -1 })).toThrow(RangeError);
  });

  it("names the header", () => {
    expect(SIGNATURE_HEADER).toBe("x-quotesync-signature");
  });
});

describe("verifySignature", () => {
  describe("known-answer vectors", () => {
    it("accepts the POST webhook vector", () => {
      expect(
        verifySignature({
          header: `t=${T},v1=${POST_V1}`,
          secrets: [CRM],
          method: "POST",
          pathWithQuery: "/webhooks/crm/demo",
          rawBody: POST_BODY,
          nowSeconds: T,
        }),
      ).toEqual(OK);
    });

    it("accepts the GET-with-query vector", () => {
      expect(
        verifySignature({
          header: `t=${T},v1=${GET_V1}`,
          secrets: [CPQ],
          method: "GET",
          pathWithQuery: GET_PATH,
          rawBody: "",
          nowSeconds: T,
        }),
      ).toEqual(OK);
    });

    it("accepts the non-ASCII UTF-8 vector as a string and as a Buffer", () => {
      for (const rawBody of [UTF8_BODY, Buffer.from(UTF8_BODY, "utf8")]) {
        expect(
          verifySignature({
            header: `t=${UTF8_T},v1=${UTF8_V1}`,
            secrets: [CPQ],
            method: "POST",
            pathWithQuery: "/webhooks/cpq/demo",
            rawBody,
            nowSeconds: UTF8_T,
          }),
        ).toEqual(OK);
      }
    });

    it("accepts upper-case hex and a lower-case method", () => {
      expect(verify({ header: `t=${T},v1=${EMPTY_OBJECT_V1.toUpperCase()}`, method: "post" })).toEqual(OK);
    });

    it("round-trips with signRequest", () => {
      const header = signRequest({ secret: CPQ, method: "GET", pathWithQuery: GET_PATH, timestamp: T });
      expect(
        verifySignature({
          header,
          secrets: [CPQ],
          method: "GET",
          pathWithQuery: GET_PATH,
          rawBody: "",
          nowSeconds: T,
        }),
      ).toEqual(OK);
    });
  });

  describe("secret rotation", () => {
    it("accepts a signature made with the second of several secrets", () => {
      expect(verify({ secrets: ["new-crm-secret", CRM] })).toEqual(OK);
      expect(
        verify({ header: `t=${T},v1=${EMPTY_OBJECT_OLD_SECRET_V1}`, secrets: [CRM, "old-crm-secret"] }),
      ).toEqual(OK);
    });

    it("accepts a header with two v1 values when either one matches", () => {
      const wrong = "0".repeat(64);
      expect(verify({ header: `t=${T},v1=${wrong},v1=${EMPTY_OBJECT_V1}` })).toEqual(OK);
      expect(verify({ header: `t=${T},v1=${EMPTY_OBJECT_V1},v1=${wrong}` })).toEqual(OK);
      expect(
        verify({
          header: `t=${T},v1=${EMPTY_OBJECT_OLD_SECRET_V1},v1=${wrong}`,
          secrets: [CRM, "old-crm-secret"],
        }),
      ).toEqual(OK);
    });

    it("rejects when no secret matches, when there are no secrets, and ignores empty secrets", () => {
      expect(verify({ secrets: ["another-secret"] })).toEqual(fail("mismatch"));
      expect(verify({ secrets: [] })).toEqual(fail("mismatch"));
      // HMAC-SHA256 with an empty key over the same message (computed with Python's hmac module):
      // an unset secret must not authenticate anything.
      const emptyKeyHeader = `t=${T},v1=4ba9b2d0218fa944f64cb2c94ad4d70c90893e33b471fd1468244c30ae678dee`;
      expect(verify({ header: emptyKeyHeader, secrets: [""] })).toEqual(fail("mismatch"));
    });

    it("ignores unknown keys such as v0", () => {
      expect(verify({ header: `v0=whatever,t=${T},v1=${EMPTY_OBJECT_V1},scheme=x` })).toEqual(OK);
    });

    it("tolerates a space after the comma", () => {
      expect(verify({ header: `t=${T}, v1=${EMPTY_OBJECT_V1}` })).toEqual(OK);
    });
  });

  describe("timestamp tolerance", () => {
    it("accepts exactly 300 s in the past and in the future", () => {
      expect(verify({ nowSeconds: T + 300 })).toEqual(OK);
      expect(verify({ nowSeconds: T - 300 })).toEqual(OK);
    });

    it("rejects 301 s in the past and in the future", () => {
      expect(verify({ nowSeconds: T + 301 })).toEqual(fail("expired"));
      expect(verify({ nowSeconds: T - 301 })).toEqual(fail("expired"));
    });

    it("honours a custom tolerance and fractional clocks", () => {
      expect(verify({ nowSeconds: T + 10, toleranceSeconds: 10 })).toEqual(OK);
      expect(verify({ nowSeconds: T + 10.5, toleranceSeconds: 10 })).toEqual(fail("expired"));
      expect(verify({ nowSeconds: T + 299.9 })).toEqual(OK);
    });

    it("treats a non-finite clock as expired, never as valid", () => {
      expect(verify({ nowSeconds: Number.NaN })).toEqual(fail("expired"));
      expect(verify({ nowSeconds: Number.POSITIVE_INFINITY })).toEqual(fail("expired"));
    });

    it("binds the timestamp: moving t within tolerance invalidates the signature", () => {
      expect(verify({ header: `t=${T + 1},v1=${EMPTY_OBJECT_V1}` })).toEqual(fail("mismatch"));
    });
  });

  describe("binding of method, path, query and body", () => {
    it("rejects the same signature on a different path", () => {
      expect(verify({ pathWithQuery: "/webhooks/cpq/demo" })).toEqual(fail("mismatch"));
      expect(verify({ pathWithQuery: "/webhooks/crm/other" })).toEqual(fail("mismatch"));
      expect(verify({ pathWithQuery: "/webhooks/crm/demo/" })).toEqual(fail("mismatch"));
    });

    it("rejects the same signature with a different method", () => {
      expect(verify({ method: "PUT" })).toEqual(fail("mismatch"));
    });

    it("rejects a GET signature with a different or missing query string", () => {
      const base = {
        header: `t=${T},v1=${GET_V1}`,
        secrets: [CPQ],
        method: "GET",
        rawBody: "",
        nowSeconds: T,
      };
      expect(verifySignature({ ...base, pathWithQuery: GET_PATH })).toEqual(OK);
      expect(verifySignature({ ...base, pathWithQuery: "/sync/demo/outbox?after=c-42&limit=10" })).toEqual(
        fail("mismatch"),
      );
      expect(verifySignature({ ...base, pathWithQuery: "/sync/demo/outbox?limit=10&after=c-41" })).toEqual(
        fail("mismatch"),
      );
      expect(verifySignature({ ...base, pathWithQuery: "/sync/demo/outbox" })).toEqual(fail("mismatch"));
      expect(verifySignature({ ...base, method: "POST", pathWithQuery: GET_PATH })).toEqual(fail("mismatch"));
    });

    it("rejects a tampered body", () => {
      expect(verify({ rawBody: "{ }" })).toEqual(fail("mismatch"));
      expect(verify({ rawBody: "{}\n" })).toEqual(fail("mismatch"));
      expect(verify({ rawBody: "" })).toEqual(fail("mismatch"));
      const tampered = POST_BODY.replace("USD", "EUR");
      expect(
        verifySignature({
          header: `t=${T},v1=${POST_V1}`,
          secrets: [CRM],
          method: "POST",
          pathWithQuery: "/webhooks/crm/demo",
          rawBody: tampered,
          nowSeconds: T,
        }),
      ).toEqual(fail("mismatch"));
    });

    it("checks a secret against the wrong tenant system", () => {
      expect(verify({ secrets: [CPQ] })).toEqual(fail("mismatch"));
    });
  });

  describe("missing and malformed headers", () => {
    it("reports a missing or empty header as missing", () => {
      expect(verify({ header: undefined })).toEqual(fail("missing"));
      expect(verify({ header: null })).toEqual(fail("missing"));
      expect(verify({ header: "" })).toEqual(fail("missing"));
      expect(verify({ header: "   " })).toEqual(fail("missing"));
    });

    it.each([
      ["no t", `v1=${EMPTY_OBJECT_V1}`],
      ["empty t", `t=,v1=${EMPTY_OBJECT_V1}`],
      ["non-integer t", `t=1700000000.5,v1=${EMPTY_OBJECT_V1}`],
      ["t with letters", `t=abc,v1=${EMPTY_OBJECT_V1}`],
      ["signed t", `t=+1700000000,v1=${EMPTY_OBJECT_V1}`],
      ["negative t", `t=-1700000000,v1=${EMPTY_OBJECT_V1}`],
      ["t with leading zeros", `t=01700000000,v1=${EMPTY_OBJECT_V1}`],
      ["t in exponent form", `t=1.7e9,v1=${EMPTY_OBJECT_V1}`],
      ["t too long", `t=1${"0".repeat(15)},v1=${EMPTY_OBJECT_V1}`],
      ["two t", `t=${T},t=${T},v1=${EMPTY_OBJECT_V1}`],
      ["no v1", `t=${T}`],
      ["only unknown keys besides t", `t=${T},v0=${EMPTY_OBJECT_V1}`],
      ["empty v1", `t=${T},v1=`],
      ["odd-length hex", `t=${T},v1=${EMPTY_OBJECT_V1.slice(0, 63)}`],
      ["short hex", `t=${T},v1=abcd`],
      ["long hex", `t=${T},v1=${EMPTY_OBJECT_V1}00`],
      ["non-hex v1", `t=${T},v1=${"g".repeat(64)}`],
      ["a bad v1 next to a good one", `t=${T},v1=${EMPTY_OBJECT_V1},v1=xyz`],
      ["a pair without =", `t=${T},v1=${EMPTY_OBJECT_V1},garbage`],
      ["a pair with an empty key", `t=${T},=x,v1=${EMPTY_OBJECT_V1}`],
      ["a trailing comma", `t=${T},v1=${EMPTY_OBJECT_V1},`],
      ["a doubled comma", `t=${T},,v1=${EMPTY_OBJECT_V1}`],
      ["semicolons instead of commas", `t=${T};v1=${EMPTY_OBJECT_V1}`],
      ["a bare hex digest", EMPTY_OBJECT_V1],
    ])("rejects %s as malformed", (_name, header) => {
      expect(verify({ header })).toEqual(fail("malformed"));
    });

    it("rejects more than 10 v1 values, accepts 10", () => {
      const filler = Array.from({ length: 9 }, () => `v1=${"0".repeat(64)}`).join(",");
      expect(verify({ header: `t=${T},${filler},v1=${EMPTY_OBJECT_V1}` })).toEqual(OK);
      expect(verify({ header: `t=${T},${filler},v1=${"0".repeat(64)},v1=${EMPTY_OBJECT_V1}` })).toEqual(
        fail("malformed"),
      );
    });

    it("rejects a header over 4 KiB before parsing it", () => {
      const header = `t=${T},v1=${EMPTY_OBJECT_V1},v0=`;
      const atLimit = header + "a".repeat(MAX_SIGNATURE_HEADER_BYTES - header.length);
      expect(Buffer.byteLength(atLimit)).toBe(4096);
      expect(verify({ header: atLimit })).toEqual(OK);
      expect(verify({ header: `${atLimit}a` })).toEqual(fail("malformed"));
      // Counted in UTF-8 bytes, not UTF-16 code units.
      const multiByte = header + "\u00e9".repeat((MAX_SIGNATURE_HEADER_BYTES - header.length) / 2 + 1);
      expect(multiByte.length).toBeLessThan(4096);
      expect(verify({ header: multiByte })).toEqual(fail("malformed"));
    });

    it("does not throw on a wrong-length v1", () => {
      for (const v1 of ["", "a", "ab", "abc", "00".repeat(31), "00".repeat(33), "00".repeat(64)]) {
        expect(() => verify({ header: `t=${T},v1=${v1}` })).not.toThrow();
        expect(verify({ header: `t=${T},v1=${v1}` })).toEqual(fail("malformed"));
      }
    });
  });
});
