import { backfillPipelineList } from "../../infra/dynamodb/pipeline-backfill.js";
import { type CliIo, parseOptions, UsageError } from "../io.js";
import { withTenantTable } from "../table-client.js";

export const pipelineBackfillUsage = (
  invokedAs: string,
) => `Usage: ${invokedAs} --tenant <id> --table <table name> [--dry-run] [--endpoint <url>] [--region <region>]

Puts a tenant's opportunities stored before the pipeline page's list existed (or before it carried
the values the page sorts by) into that list, so the page shows and sorts them at once rather than
after their next change (docs/pipeline-page.md). Reads the whole table once (a paged Scan: the
headers no index names can only be found that way), and writes each entry with its header,
conditioned on the header's version: safe while quotesync runs, and safe to run again.

Options:
  --tenant <id>       the tenant whose list to fill
  --table <name>      the quotesync table, e.g. quotesync-dev (default: $TABLE_NAME)
  --dry-run           count what would be written; write nothing
  --endpoint <url>    a DynamoDB endpoint other than AWS's, e.g. the local server's DynamoDB Local
  --region <region>   AWS region (default: $AWS_REGION, then $AWS_DEFAULT_REGION)
  -h, --help          show this help
`;

/** `pipeline backfill`: a tenant's older opportunities put in the pipeline page's list. */
export async function pipelineBackfillCommand(
  argv: string[],
  io: CliIo,
  invokedAs = "quotesync pipeline backfill",
): Promise<number> {
  const values = parseOptions(argv, {
    tenant: { type: "string" },
    table: { type: "string" },
    "dry-run": { type: "boolean" },
    endpoint: { type: "string" },
    region: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(pipelineBackfillUsage(invokedAs));
    return 0;
  }
  const tenantId = values.tenant;
  if (!tenantId) throw new UsageError("--tenant is required");
  const dryRun = values["dry-run"] === true;
  return withTenantTable(values, io.env, tenantId, "backfill", async ({ doc, table }) => {
    const report = await backfillPipelineList(doc, table, tenantId, {
      dryRun,
      onPage: (so) => io.stderr(`scanned ${so.scanned} item(s), ${so.headers} opportunity header(s)\n`),
    });
    io.stdout(
      `tenant ${tenantId}: ${report.headers} opportunity header(s), ${report.listed} listed; ` +
        `${report.written} list entr${report.written === 1 ? "y" : "ies"} ${dryRun ? "to write (dry run)" : "written"}` +
        `${report.skipped > 0 ? `, ${report.skipped} changed meanwhile (their commit listed them)` : ""}\n`,
    );
    return 0;
  });
}
