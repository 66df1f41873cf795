import { HubSpotClient } from "../../connectors/hubspot/client.js";
import { setupCustomProperties } from "../../connectors/hubspot/custom-properties.js";
import { staticToken } from "../../connectors/hubspot/tokens.js";
import { type CliIo, CommandFailed, parseOptions, UsageError } from "../io.js";

export const hubSpotSetupUsage = `Usage: npx quotesync hubspot setup-properties [--base-url <url>]

Creates the quotesync_* custom properties (line items, deals, quotes) in a HubSpot portal through
POST /crm/v3/properties/{objectType}. Properties that exist already are left as they are. Run once
per portal, before turning the app's webhook subscriptions on.

The access token (a private app's token, scope crm.schemas.line_items.write, crm.schemas.deals.write,
crm.schemas.quotes.write) is read from the environment variable HUBSPOT_ACCESS_TOKEN, never from
the command line.

Options:
  --base-url <url>   HubSpot's API (default https://api.hubapi.com; a local fake for tests)
  -h, --help         show this help
`;

/** `hubspot setup-properties`: the one-off setup of a portal's custom properties. */
export async function hubSpotSetupCommand(argv: string[], io: CliIo, env = process.env): Promise<number> {
  const values = parseOptions(argv, {
    "base-url": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(hubSpotSetupUsage);
    return 0;
  }
  const accessToken = env.HUBSPOT_ACCESS_TOKEN;
  if (!accessToken) throw new UsageError("set HUBSPOT_ACCESS_TOKEN to the portal's access token");
  const client = new HubSpotClient({
    baseUrl: values["base-url"] ?? "https://api.hubapi.com",
    tokens: staticToken(accessToken),
    fetch,
    budget: { take: async () => {} },
  });
  try {
    for (const { objectType, name, result } of await setupCustomProperties(client)) {
      io.stdout(`${objectType}.${name}: ${result}\n`);
    }
  } catch (error) {
    throw new CommandFailed((error as Error).message, { cause: error });
  }
  return 0;
}
