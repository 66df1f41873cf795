import { CPQ_EVENT_TYPES, CRM_EVENT_TYPES } from "../../domain/events.js";
import { isTenantId } from "../../domain/tenant.js";
import { sendSigned, targetUrl } from "../http-client.js";
import { type CliIo, CommandFailed, parseOptions, readInput, readSecret, UsageError } from "../io.js";

export const replayUsage = (
  invokedAs: string,
) => `Usage: ${invokedAs} --url <base url> --tenant <id> --file <events> [--crm-secret <s>] [--cpq-secret <s>]

Re-sends events, in file order, each signed and posted to the webhook of its source (CRM event
types to /webhooks/crm/<tenant>, CPQ ones to /webhooks/cpq/<tenant>). For support: redelivering what
a system sent. An event quotesync already processed is answered with its original response and
changes nothing (shown as "replayed"). Prints one line per event; exits 1 when any event was refused.

Options:
  --url <base url>     where the API is served, e.g. http://127.0.0.1:3000
  --tenant <id>        the tenant, e.g. demo
  --file <file>        JSON lines (one event per line), a JSON array, or one JSON object; '-' reads
                       stdin. Events may come as sent, as EventBridge events (their detail), as
                       messages of the failed-invocations queue (a Lambda on-failure record, its
                       SQS message, or \`aws sqs receive-message\` output)
  --crm-secret <s>     the tenant's CRM secret (default: $QUOTESYNC_CRM_SECRET); prefer the
                       file or the variable: an argument shows in shell history and ps
  --crm-secret-file <f>  read the CRM secret from a file (one line)
  --cpq-secret <s>     the tenant's CPQ secret (default: $QUOTESYNC_CPQ_SECRET)
  --cpq-secret-file <f>  read the CPQ secret from a file (one line)
  --stop-on-error      stop at the first refused event
  -h, --help           show this help

Example:
  ${invokedAs} --url http://127.0.0.1:3000 --tenant demo --file events.jsonl \\
    --crm-secret demo-crm-secret --cpq-secret demo-cpq-secret
`;

/**
 * Events from JSON lines, a JSON array or one (pretty-printed) JSON object; blank lines are
 * skipped. Wrapped events are unwrapped (see `unwrapEvent`).
 */
export function parseEventFile(text: string): Wrapped[] {
  return parseValues(text).flatMap(unwrapEvent);
}

/** An event to replay, and the tenant its wrapping names (EventBridge detail), if any. */
export interface Wrapped {
  event: unknown;
  tenantId?: string;
}

function parseValues(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    try {
      return JSON.parse(trimmed) as unknown[];
    } catch (error) {
      throw new CommandFailed(`the file is not a JSON array: ${(error as Error).message}`);
    }
  }
  if (trimmed.startsWith("{")) {
    try {
      return [JSON.parse(trimmed) as unknown]; // one object, possibly over several lines
    } catch {
      // JSON lines: parsed line by line below
    }
  }
  return trimmed
    .split("\n")
    .map((line, index) => ({ line: line.trim(), number: index + 1 }))
    .filter(({ line }) => line !== "")
    .map(({ line, number }) => {
      try {
        return JSON.parse(line) as unknown;
      } catch (error) {
        throw new CommandFailed(`line ${number} is not JSON: ${(error as Error).message}`);
      }
    });
}

/**
 * The quotesync events inside what support may hold: an EventBridge event (its `detail`, less the
 * `tenantId` it carries), a Lambda on-failure destination record (`requestPayload`), an SQS
 * message of the failed-invocations queue (`Body`), or `aws sqs receive-message` output
 * (`Messages`). Anything else is returned as it is.
 */
export function unwrapEvent(value: unknown): Wrapped[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [{ event: value }];
  const record = value as Record<string, unknown>;
  if (Array.isArray(record.Messages)) return record.Messages.flatMap(unwrapEvent);
  if (typeof record.Body === "string") {
    try {
      return unwrapEvent(JSON.parse(record.Body));
    } catch {
      return [{ event: value }];
    }
  }
  if (typeof record.requestPayload === "object" && record.requestPayload !== null) {
    return unwrapEvent(record.requestPayload);
  }
  if ("detail-type" in record && typeof record.detail === "object" && record.detail !== null) {
    const { tenantId, ...event } = record.detail as Record<string, unknown>;
    return [typeof tenantId === "string" ? { event, tenantId } : { event }];
  }
  return [{ event: value }];
}

function sourceOf(type: unknown): "crm" | "cpq" | null {
  if ((CRM_EVENT_TYPES as readonly unknown[]).includes(type)) return "crm";
  if ((CPQ_EVENT_TYPES as readonly unknown[]).includes(type)) return "cpq";
  return null;
}

/** `replay`: re-sends a file of events, signed, to their webhooks. */
export async function replayCommand(
  argv: string[],
  io: CliIo,
  invokedAs = "npx quotesync replay",
): Promise<number> {
  const values = parseOptions(argv, {
    url: { type: "string" },
    tenant: { type: "string" },
    file: { type: "string" },
    "crm-secret": { type: "string" },
    "crm-secret-file": { type: "string" },
    "cpq-secret": { type: "string" },
    "cpq-secret-file": { type: "string" },
    "stop-on-error": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(replayUsage(invokedAs));
    return 0;
  }
  if (values.url === undefined) throw new UsageError("--url is required, e.g. --url http://127.0.0.1:3000");
  if (!isTenantId(values.tenant)) {
    throw new UsageError("--tenant is required: a tenant id such as demo");
  }
  if (values.file === undefined) throw new UsageError("--file is required (JSON lines or a JSON array)");
  const secrets = {
    crm: await readSecret(io, values, "crm-secret", "QUOTESYNC_CRM_SECRET"),
    cpq: await readSecret(io, values, "cpq-secret", "QUOTESYNC_CPQ_SECRET"),
  };
  const base = values.url;
  targetUrl(base, "/");
  const events = parseEventFile((await readInput(io, values.file, "--file")).toString("utf8"));

  let refused = 0;
  for (const [index, wrapped] of events.entries()) {
    const accepted = await replayOne(io, wrapped, index, { base, tenant: values.tenant, secrets });
    if (accepted) continue;
    refused++;
    if (values["stop-on-error"]) break;
  }
  io.stderr(`${events.length} events, ${events.length - refused} accepted, ${refused} refused or skipped\n`);
  return refused === 0 ? 0 : 1;
}

/**
 * Sends one event of the file to its webhook, signed with its source's secret, and prints one line
 * about it. False when it was skipped (another tenant's, no secret, not a quotesync event type) or
 * refused.
 */
async function replayOne(
  io: CliIo,
  { event, tenantId }: Wrapped,
  index: number,
  target: { base: string; tenant: string; secrets: { crm: string | undefined; cpq: string | undefined } },
): Promise<boolean> {
  const { type, eventId } = (typeof event === "object" && event !== null ? event : {}) as Record<
    string,
    unknown
  >;
  const label = `#${index + 1} ${String(type ?? "?")} ${String(eventId ?? "?")}`;
  const source = sourceOf(type);
  const secret = source ? target.secrets[source] : undefined;
  if (tenantId !== undefined && tenantId !== target.tenant) {
    io.stdout(`${label}: skipped: an event of tenant ${tenantId}, not ${target.tenant}\n`);
    return false;
  }
  if (!source || !secret) {
    io.stdout(`${label}: skipped: ${source ? `no --${source}-secret` : "not a quotesync event type"}\n`);
    return false;
  }
  const url = targetUrl(target.base, `/webhooks/${source}/${target.tenant}`);
  const response = await sendSigned({
    url,
    method: "POST",
    secret,
    body: Buffer.from(JSON.stringify(event)),
  });
  const answer = (await response.json().catch(() => ({}))) as {
    status?: string;
    mirrors?: unknown[];
    error?: { code?: string; message?: string };
  };
  if (!response.ok) {
    io.stdout(
      `${label} -> ${source}: ${response.status} ${answer.error?.code ?? ""} ${answer.error?.message ?? ""}\n`,
    );
    return false;
  }
  const replayed = response.headers.get("x-quotesync-replayed") === "true" ? ", replayed" : "";
  io.stdout(
    `${label} -> ${source}: ${response.status} ${answer.status} (${answer.mirrors?.length ?? 0} mirrors${replayed})\n`,
  );
  return true;
}
