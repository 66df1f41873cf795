import { describe, expect, it } from "vitest";
import { signedUri, signV3, verifyV3 } from "../../../connectors/hubspot/signature.js";

const SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
const URI = "https://www.example.com/webhook_uri";
const BODY = "{'example_field':'example_value'}";

describe("HubSpot signature v3", () => {
  it("reproduces HubSpot's published vector (hubspot-api-python test_get_signature__v3)", () => {
    expect(signV3({ secret: SECRET, method: "POST", uri: URI, body: BODY, timestamp: "1693657560000" })).toBe(
      "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y=",
    );
  });

  const verify = (overrides: Partial<Parameters<typeof verifyV3>[0]> = {}) =>
    verifyV3({
      secrets: [SECRET],
      method: "POST",
      uri: URI,
      body: Buffer.from(BODY),
      signature: "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y=",
      timestamp: "1693657560000",
      now: 1693657560000 + 60_000,
      ...overrides,
    });

  it("accepts the vector within five minutes", () => {
    expect(verify()).toEqual({ ok: true });
  });

  it("refuses a timestamp older than five minutes, even with a valid signature", () => {
    expect(verify({ now: 1693657560000 + 5 * 60_000 + 1 })).toEqual({ ok: false, reason: "expired" });
  });

  it("refuses a forged signature, another secret, a changed body or method", () => {
    expect(verify({ signature: "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Z=" }).ok).toBe(false);
    expect(verify({ secrets: ["another-secret"] }).ok).toBe(false);
    expect(verify({ body: Buffer.from(`${BODY} `) }).ok).toBe(false);
    expect(verify({ method: "PUT" }).ok).toBe(false);
    expect(verify({ signature: undefined })).toEqual({ ok: false, reason: "missing" });
    expect(verify({ timestamp: "not-a-number" })).toEqual({ ok: false, reason: "missing" });
  });

  it("decodes the escapes HubSpot's docs list, and only those, before signing", () => {
    expect(signedUri("https://h/p?x=a%3Ab%2Fc%40d%21%24%27%28%29%2A%2C%3B%3F")).toBe(
      "https://h/p?x=a:b/c@d!$'()*,;?",
    );
    expect(signedUri("https://h/p?x=a%20b%2Bc")).toBe("https://h/p?x=a%20b%2Bc");
    const signed = signV3({
      secret: SECRET,
      method: "POST",
      uri: `${URI}?from=a:b`,
      body: BODY,
      timestamp: "1",
    });
    // The same URI re-encoded with a listed escape verifies; with another encoding it does not.
    expect(
      verifyV3({
        secrets: [SECRET],
        method: "POST",
        uri: `${URI}?from=a%3Ab`,
        body: Buffer.from(BODY),
        signature: signed,
        timestamp: "1",
        now: 2,
      }).ok,
    ).toBe(true);
    expect(
      verifyV3({
        secrets: [SECRET],
        method: "POST",
        uri: `${URI}?from=a%3ab%20`,
        body: Buffer.from(BODY),
        signature: signed,
        timestamp: "1",
        now: 2,
      }).ok,
    ).toBe(false);
  });
});
