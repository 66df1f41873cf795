import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MemoryConnectorStore, PermanentDeliveryError } from "../../../connectors/applier.js";
import { hubSpotApplier } from "../../../connectors/hubspot/applier.js";
import { FakeHubSpot } from "../../../connectors/hubspot/fake/fake-hubspot.js";
import { EXPIRY_MARGIN_MS } from "../../../connectors/hubspot/tokens.js";
import { TenantConfig } from "../../../domain/tenant.js";
import { ACCESS_TOKEN, APP_ID, CLIENT_SECRET, PORTAL_ID, setUpPortal } from "../../support/hubspot.js";

const OAUTH = { clientId: "app-client-id", clientSecret: CLIENT_SECRET, refreshToken: "refresh-1234" };

describe("a public app's OAuth tokens", () => {
  let fake: FakeHubSpot;
  let store: MemoryConnectorStore;
  /** quotesync's clock and the portal's, moved by the tests. */
  let ours = Date.parse("2026-11-30T08:00:00Z");
  let theirs = ours;

  beforeEach(async () => {
    ours = Date.parse("2026-11-30T08:00:00Z");
    theirs = ours;
    fake = new FakeHubSpot({
      portalId: PORTAL_ID,
      appId: APP_ID,
      clientSecret: CLIENT_SECRET,
      // The private token only sets the portal up; the tenant holds OAuth credentials alone.
      accessToken: ACCESS_TOKEN,
      oauth: { ...OAUTH, expiresInSeconds: 1800 },
      now: () => theirs,
    });
    await setUpPortal(await fake.listen());
    store = new MemoryConnectorStore();
  });
  afterEach(async () => {
    await fake.close();
  });

  function tenant(oauth = OAUTH): TenantConfig {
    const side = { kind: "hubspot", portalId: PORTAL_ID, appId: APP_ID, baseUrl: fake.url, oauth };
    return TenantConfig.parse({
      tenantId: "oauth",
      secrets: { crm: ["oauth-crm-secret-01"], cpq: ["oauth-cpq-secret-01"] },
      connectors: { crm: side, cpq: side },
    });
  }

  /** One mirror setting the deal's amount, applied as deliver would (a new client each time). */
  async function writeAmount(dealId: string, amount: string, config = tenant()) {
    return hubSpotApplier.apply(
      {
        tenantId: "oauth",
        entryId: `e-${amount}`,
        cursor: "c",
        at: new Date(ours).toISOString(),
        mirror: {
          target: "crm",
          opportunityId: dealId,
          quoteId: "q",
          opportunity: { amount, amountLocked: true, syncedQuoteId: "q" },
        },
      },
      {
        tenant: config,
        connector: config.connectors.crm,
        side: "crm",
        state: { lineIds: {}, facts: {} },
        fetch,
        now: () => ours,
        connectorStore: store,
      },
    );
  }

  const tokenRequests = () => fake.calls.filter((call) => call.path === "/oauth/v1/token");
  const refused = () => fake.calls.filter((call) => call.status === 401);

  it("refreshes with the refresh token, and reuses the access token until shortly before it expires", async () => {
    const dealId = fake.createDeal({ dealname: "OAuth deal" });
    await writeAmount(dealId, "10.00");
    expect(tokenRequests()).toHaveLength(1);
    expect(tokenRequests()[0]?.status).toBe(200);
    // Another function (a new client, same portal) 20 minutes later: the cached token still serves.
    ours += 20 * 60_000;
    theirs = ours;
    await writeAmount(dealId, "11.00");
    expect(tokenRequests()).toHaveLength(1);
    // Within the margin before expiry: a new token first, so no call is refused.
    ours += 30 * 60_000 - 20 * 60_000 - EXPIRY_MARGIN_MS + 1_000;
    theirs = ours;
    await writeAmount(dealId, "12.00");
    expect(tokenRequests()).toHaveLength(2);
    expect(refused()).toHaveLength(0);
    expect(fake.objects.deals.get(dealId)?.properties.amount).toBe("12.00");
    expect(fake.violations).toEqual([]);
  });

  it("asks for a new token once when HubSpot refuses the cached one as expired", async () => {
    const dealId = fake.createDeal({ dealname: "OAuth deal" });
    await writeAmount(dealId, "10.00");
    // The portal's clock says the token expired; quotesync's cache does not know yet.
    theirs += 31 * 60_000;
    await writeAmount(dealId, "20.00");
    expect(refused()).toHaveLength(1);
    expect(tokenRequests()).toHaveLength(2);
    expect(fake.objects.deals.get(dealId)?.properties.amount).toBe("20.00");
    expect(fake.violations).toEqual([]);
  });

  it("parks the mirror when the refresh token is refused (the app was uninstalled)", async () => {
    const dealId = fake.createDeal({ dealname: "OAuth deal" });
    const failure = await writeAmount(
      dealId,
      "10.00",
      tenant({ ...OAUTH, refreshToken: "revoked-token" }),
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PermanentDeliveryError);
    expect((failure as PermanentDeliveryError).vendorCode).toBe("BAD_REFRESH_TOKEN");
    expect((failure as Error).message).not.toContain("revoked-token");
    expect(fake.calls.filter((call) => call.path.startsWith("/crm/v3/objects"))).toHaveLength(0);
  });
});
