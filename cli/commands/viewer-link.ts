import { isTenantId } from "../../domain/tenant.js";
import { MAX_VIEWER_HOURS, mintViewerToken } from "../../functions/lib/viewer-link.js";
import { type CliIo, parseOptions, UsageError } from "../io.js";

export const viewerLinkUsage = (
  invokedAs: string,
) => `Usage: ${invokedAs} --tenant <id> --secret <secret> [--hours 8] [--actions] [--viewer <name>] [--url <base>]

Prints a signed, expiring link to the tenant's pipeline page (docs/pipeline-page.md). Whoever holds
the link sees the tenant's pipeline until it expires; with --actions they may also start, stop,
re-sync and retry a parked delivery, audited under --viewer. The link carries an HMAC under a key derived from the secret,
never the secret itself; rotating the tenant's secrets revokes every link minted with the old one.

Options:
  --tenant <id>       tenant id, e.g. acme
  --secret <secret>   one of the tenant's secrets (CRM or CPQ), e.g. demo-crm-secret
  --hours <n>         how long the link works (default 8, at most ${MAX_VIEWER_HOURS})
  --actions           allow start, stop, re-sync and retrying a parked delivery from the page
                      (default: read only)
  --viewer <name>     who the link is for; recorded as the actor of their actions (default viewer)
  --url <base>        the API's base URL (default http://127.0.0.1:3000)
  -h, --help          show this help

Example:
  ${invokedAs} --tenant demo --secret demo-crm-secret --hours 8 --actions --viewer maria
`;

/** `viewer-link`: prints a pipeline page link for a tenant. */
export async function viewerLinkCommand(
  argv: string[],
  io: CliIo,
  invokedAs = "npx quotesync viewer-link",
): Promise<number> {
  const values = parseOptions(argv, {
    tenant: { type: "string" },
    secret: { type: "string" },
    hours: { type: "string" },
    actions: { type: "boolean" },
    viewer: { type: "string" },
    url: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(viewerLinkUsage(invokedAs));
    return 0;
  }
  const tenantId = values.tenant ?? "";
  if (!isTenantId(tenantId))
    throw new UsageError("--tenant is required: lower-case letters, digits and -, e.g. --tenant acme");
  if (!values.secret) throw new UsageError("--secret is required (one of the tenant's secrets)");
  const hours = Number(values.hours ?? "8");
  if (!(hours > 0 && hours <= MAX_VIEWER_HOURS))
    throw new UsageError(`--hours must be a number of hours above 0 and at most ${MAX_VIEWER_HOURS}`);
  const viewer = values.viewer ?? "viewer";
  if (!/^[\w.@-]{1,64}$/.test(viewer))
    throw new UsageError("--viewer is a name of letters, digits and _ . @ - (at most 64)");
  let base: URL;
  try {
    base = new URL(values.url ?? "http://127.0.0.1:3000");
  } catch {
    throw new UsageError(
      `--url must be a URL such as https://api.example.com, got ${JSON.stringify(values.url)}`,
    );
  }
  const token = mintViewerToken(values.secret, { tenantId, viewer, hours, actions: values.actions ?? false });
  const path = `${base.pathname.replace(/\/$/, "")}/app/${tenantId}/enter`;
  io.stdout(`${base.origin}${path}?link=${token}\n`);
  return 0;
}
