import type { AddressInfo } from "node:net";
import { HubSpotClient } from "../../connectors/hubspot/client.js";
import { setupCustomProperties } from "../../connectors/hubspot/custom-properties.js";
import { FakeHubSpot } from "../../connectors/hubspot/fake/fake-hubspot.js";
import { staticToken } from "../../connectors/hubspot/tokens.js";
import type { SyncStore } from "../../domain/store.js";
import { TenantConfig } from "../../domain/tenant.js";
import { setHubSpotEnvironment } from "../../functions/lib/hubspot-deps.js";
import { createRuntime, setRuntime } from "../../functions/lib/runtime.js";
import type { DynamoConnectorStore } from "../../infra/dynamodb/connector-store.js";
import { createLocalHttpServer } from "../../local/http-adapter.js";
import { localRoutes } from "../../local/routes.js";

export interface PortalOptions {
  store: SyncStore;
  connectorStore: DynamoConnectorStore;
  tenantId: string;
  portalId: number;
  appId: number;
  clientSecret: string;
  accessToken: string;
  /** The fake posts its webhooks on its own, 20 ms after a change (as for `npm start`). */
  autoFlush?: boolean;
  /** The tenant's HubSpot request budget, when not HubSpot's default. */
  requestsPer10Seconds?: number;
}

export interface Portal {
  fake: FakeHubSpot;
  close(): Promise<void>;
}

/**
 * A fake HubSpot portal with quotesync's custom properties, a tenant whose both sides are that
 * portal, and the local HTTP server (`POST /connectors/hubspot`) the portal's webhooks go to; the
 * tenant configuration is cached between invocations, as in a Lambda container.
 */
export async function hubSpotPortal(options: PortalOptions): Promise<Portal> {
  const { portalId, appId, clientSecret, accessToken } = options;
  const fake = new FakeHubSpot({
    portalId,
    appId,
    clientSecret,
    accessToken,
    autoFlush: options.autoFlush ?? false,
  });
  const baseUrl = await fake.listen();
  const budget = { take: async () => {} };
  await setupCustomProperties(
    new HubSpotClient({ baseUrl, tokens: staticToken(accessToken), fetch, budget }),
  );
  const side = {
    kind: "hubspot",
    portalId,
    appId,
    baseUrl,
    accessToken,
    clientSecret,
    ...(options.requestsPer10Seconds ? { requestsPer10Seconds: options.requestsPer10Seconds } : {}),
  };
  await options.store.putTenant(
    TenantConfig.parse({
      tenantId: options.tenantId,
      secrets: { crm: [`${options.tenantId}-crm-secret`], cpq: [`${options.tenantId}-cpq-secret`] },
      connectors: { crm: side, cpq: side },
    }),
  );
  setRuntime(createRuntime(options.store, { tenantCacheMs: 60_000 }));
  const server = createLocalHttpServer({ routes: localRoutes });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  setHubSpotEnvironment({ publicUrl, connectorStore: options.connectorStore });
  fake.setWebhookUrl(`${publicUrl}/connectors/hubspot`);
  return {
    fake,
    async close() {
      setHubSpotEnvironment({});
      setRuntime(undefined);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fake.close();
    },
  };
}
