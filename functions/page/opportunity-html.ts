import type { FieldValue } from "../../domain/events.js";
import type { StoredLine } from "../../domain/model.js";
import type { LinePair, OpportunityView } from "../../domain/pipeline/opportunity-view.js";
import { money, systemName, when } from "./format.js";
import { type Html, html, segment } from "./html.js";
import { ATTENTION_LABEL, deliveryCell } from "./pipeline-html.js";
import { humanize, timelineLabel, timelineSentence } from "./timeline.js";

/** What an action answered, shown once after the redirect back to the page. */
export const NOTICES: Record<string, { text: string; ok: boolean }> = {
  started: { text: "Sync started: the opportunity now follows the quote.", ok: true },
  resynced: { text: "Re-synchronized: the quote's lines were sent again.", ok: true },
  stopped: { text: "Sync stopped: the opportunity keeps its lines and its amount is unlocked.", ok: true },
  no_change: { text: "Nothing to do: the quote was not syncing.", ok: true },
  currency_mismatch: {
    text: "Not started: the quote and the opportunity have different currencies.",
    ok: false,
  },
  pricebook_mismatch: {
    text: "Not started: the quote and the opportunity use different price books.",
    ok: false,
  },
  quote_expired: { text: "Not started: the quote has expired.", ok: false },
  retry_delivered: { text: "Delivery retried: the parked mirror was delivered.", ok: true },
  retry_retrying: {
    text: "Delivery retried: the target failed again for now; quotesync keeps retrying.",
    ok: false,
  },
  retry_parked: {
    text: "Delivery retried: the target refused the mirror again, so it is parked.",
    ok: false,
  },
  not_parked: { text: "Nothing to retry: that mirror is no longer parked.", ok: true },
  forbidden: { text: "Refused: your access does not include this action.", ok: false },
  not_found: { text: "Not found: the quote or the opportunity is gone.", ok: false },
  retry_later: { text: "Storage is busy: try again in a moment.", ok: false },
  failed: { text: "The action failed; nothing was changed.", ok: false },
};

const COMPARED: Array<{ key: keyof StoredLine; label: string }> = [
  { key: "quantity", label: "Quantity" },
  { key: "unitPrice", label: "Unit price" },
  { key: "discountPercent", label: "Discount %" },
  { key: "billing", label: "Billing" },
];

export function opportunityBody(input: {
  tenantId: string;
  view: OpportunityView;
  canAct: boolean;
  csrf: string;
  notice: string | undefined;
  mappedLineFields: string[];
}): Html {
  const { view, tenantId } = input;
  const { row, opportunity, shownQuote } = view;
  const base = `/app/${segment(tenantId)}/opportunities/${segment(opportunity.id)}`;
  const notice = input.notice ? NOTICES[input.notice] : undefined;
  const synced = shownQuote !== null && shownQuote.id === opportunity.syncedQuoteId;
  const lineNames = new Map(
    view.pairs.map((pair) => {
      const line = pair.quote ?? pair.opportunity;
      return [pair.syncKey, `line ${line?.name ?? line?.productId ?? pair.syncKey}`] as const;
    }),
  );
  return html`<p><a href="/app/${segment(tenantId)}">← Pipeline</a></p>
<h1>${opportunity.name ?? opportunity.id}</h1>
${notice ? html`<p class="notice ${notice.ok ? "ok" : "bad"}" role="status">${notice.text}</p>` : ""}
<section aria-label="Sync status" class="cards">
  <div class="card"><div class="k">Stage</div><div class="v">${opportunity.stage ?? "—"}</div></div>
  <div class="card"><div class="k">Amount</div><div class="v">${money(opportunity.amount, opportunity.currency)}</div><div class="k">${opportunity.amountLocked ? "locked while synced" : "editable in the CRM"}</div></div>
  <div class="card"><div class="k">Sync</div><div class="v" id="sync-state">${synced ? `Synced with ${shownQuote.id}` : "Not synced"}</div><div class="k">${row.mode ? `${row.mode} mode · ${row.pendingChanges} pending` : ""}</div></div>
  <div class="card"><div class="k">Approval</div><div class="v">${opportunity.approval.required ? "Required" : "Not required"}</div>${opportunity.approval.required ? html`<ul class="reasons">${opportunity.approval.reasons.map((reason) => html`<li>${reason}</li>`)}</ul>` : ""}</div>
  <div class="card"><div class="k">Last synced</div><div class="v">${when(opportunity.lastSyncedAt)}</div></div>
  <div class="card"><div class="k">Delivery</div><div class="v">${deliveryCell(row)}</div></div>
</section>
${row.attention.length > 0 ? html`<h2>Needs attention</h2><ul>${row.attention.map((item) => html`<li><strong>${ATTENTION_LABEL[item.kind]}:</strong> ${humanize(item.text, lineNames)}</li>`)}</ul>` : ""}
${parkedDeliveries(base, input)}
${actions(base, input, synced)}
<h2>Lines side by side${shownQuote ? html` <span class="muted">— quote ${shownQuote.id}${synced ? "" : " (not synced)"} and the opportunity</span>` : ""}</h2>
${linesTable(view.pairs, input.mappedLineFields)}
<h2>Other quotes</h2>
${otherQuotesTable(base, input)}
<h2>Field mapping</h2>
${fieldMappingTable(view)}
<h2 id="timeline">Timeline <span class="muted">— newest first</span></h2>
${timelineList(view, lineNames)}`;
}

function otherQuotesTable(
  base: string,
  input: { canAct: boolean; csrf: string; view: OpportunityView },
): Html {
  const { view } = input;
  return view.otherQuotes.length === 0
    ? html`<p class="muted">No other quotes.</p>`
    : html`<table class="stack" aria-label="Other quotes"><thead><tr><th scope="col">Quote</th><th scope="col">Status</th><th scope="col">Expires</th><th scope="col">Last change</th>${input.canAct ? html`<th scope="col">Action</th>` : ""}</tr></thead><tbody>${view.otherQuotes.map(
        (quote) =>
          html`<tr><td data-label="Quote">${quote.name ? `${quote.name} (${quote.id})` : quote.id}</td><td data-label="Status">${quote.status ?? "—"}</td><td data-label="Expires">${quote.expiresAt ? quote.expiresAt.slice(0, 10) : "—"}</td><td data-label="Last change">${when(new Date(quote.changedAt).toISOString())}</td>${input.canAct ? html`<td data-label="Action">${actionForm(base, input.csrf, "start", quote.id, `Start sync with ${quote.id}`, "")}</td>` : ""}</tr>`,
      )}</tbody></table>`;
}

function fieldMappingTable(view: OpportunityView): Html {
  return html`<table class="stack" aria-label="Custom fields">
<thead><tr><th scope="col">Field</th><th scope="col">Level</th><th scope="col">Quote side</th><th scope="col">Opportunity side</th><th scope="col">Travels</th><th scope="col">Why</th></tr></thead>
<tbody>${view.fieldReport.map(
    (entry) =>
      html`<tr><td data-label="Field"><code>${entry.name}</code></td><td data-label="Level">${entry.level === "lines" ? "line" : "header"}</td><td data-label="Quote side">${entry.quoteType ?? "—"}</td><td data-label="Opportunity side">${entry.opportunityType ?? "—"}</td><td data-label="Travels">${entry.travels ? html`<span class="tag ok">yes</span>` : html`<span class="tag warn">no</span>`}</td><td data-label="Why">${entry.reason}</td></tr>`,
  )}</tbody></table>`;
}

function timelineList(view: OpportunityView, lineNames: Map<string, string>): Html {
  return view.timeline.length === 0
    ? html`<p class="muted">Nothing recorded yet.</p>`
    : html`<ol class="timeline" aria-labelledby="timeline">${view.timeline.map((entry) => {
        const label = timelineLabel(entry);
        return html`<li><time datetime="${entry.at}">${when(entry.at)}</time><span class="tag ${label.tone}">${label.text}</span> ${timelineSentence(entry, lineNames)}</li>`;
      })}</ol>`;
}

function actions(
  base: string,
  input: { canAct: boolean; csrf: string; view: OpportunityView },
  synced: boolean,
): Html {
  const { shownQuote } = input.view;
  if (!shownQuote) return html``;
  if (!input.canAct)
    return html`<p class="muted">This link is read only: ask for a link with actions to start or stop sync.</p>`;
  return html`<div class="actions">${
    synced
      ? [
          actionForm(base, input.csrf, "stop", shownQuote.id, "Stop sync", "danger"),
          actionForm(base, input.csrf, "resync", shownQuote.id, "Re-sync now", ""),
        ]
      : actionForm(base, input.csrf, "start", shownQuote.id, `Start sync with ${shownQuote.id}`, "primary")
  }</div>`;
}

/** Each side's parked mirror, what the target answered, and the button that sends it again. */
function parkedDeliveries(
  base: string,
  input: { canAct: boolean; csrf: string; view: OpportunityView },
): Html {
  const delivery = input.view.row.delivery;
  const parked = (["crm", "cpq"] as const).flatMap((side) => {
    const state = delivery?.[side];
    return state?.parkedEntryId ? [{ side, entryId: state.parkedEntryId, state }] : [];
  });
  if (parked.length === 0) return html``;
  return html`<h2>Parked delivery</h2>${parked.map(
    ({ side, entryId, state }) =>
      html`<div class="parked"><p>Mirror ${entryId} to ${systemName(side)} is parked${state.pending > 1 ? `, with ${state.pending - 1} more waiting behind it` : ""}.${state.lastError ? html` Last error: <q>${state.lastError}</q>` : ""}</p>
<p class="muted">Fix the cause first (the missing product, the endpoint's validation), then send it again.</p>
${input.canAct ? actionForm(base, input.csrf, "retry", entryId, `Retry parked delivery to ${systemName(side).replace(/^the /, "")}`, "primary", "entryId") : html`<p class="muted">This link is read only: ask for a link with actions to retry it.</p>`}</div>`,
  )}`;
}

function actionForm(
  base: string,
  csrf: string,
  action: string,
  quoteId: string,
  label: string,
  tone: string,
  field: "quoteId" | "entryId" = "quoteId",
): Html {
  return html`<form method="post" action="${base}/actions"><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="action" value="${action}"><input type="hidden" name="${field}" value="${quoteId}"><button type="submit"${tone ? html` class="${tone}"` : ""}>${label}</button></form>`;
}

function linesTable(pairs: LinePair[], mapped: string[]): Html {
  if (pairs.length === 0) return html`<p class="muted">No lines on either side.</p>`;
  const columns = [
    ...COMPARED.map((column) => ({
      id: String(column.key),
      label: column.label,
      read: (line: StoredLine) => String(line[column.key] ?? ""),
    })),
    ...mapped.map((name) => ({
      id: `fields.${name}`,
      label: name,
      read: (line: StoredLine) => fieldText(line.fields[name]),
    })),
  ];
  const differing = pairs.filter((pair) => pair.differences.length > 0).length;
  return html`<p>${differing === 0 ? "Both sides agree on every mapped field." : `${differing} of ${pairs.length} line${pairs.length === 1 ? "" : "s"} differ; differences are highlighted.`}</p>
<table class="stack" aria-label="Quote lines and opportunity lines, paired">
<thead><tr><th scope="col">Line</th>${columns.map((column) => html`<th scope="col">Quote: ${column.label}</th>`)}${columns.map((column) => html`<th scope="col">Opportunity: ${column.label}</th>`)}</tr></thead>
<tbody>${pairs.map((pair) => {
    const line = pair.quote ?? pair.opportunity;
    const name = line?.name ?? line?.productId ?? pair.syncKey;
    const cell = (side: "quote" | "opportunity", column: (typeof columns)[number]) => {
      const own = pair[side];
      const label = `${side === "quote" ? "Quote" : "Opportunity"}: ${column.label}`;
      const differs = pair.differences.includes(column.id);
      if (!own) return html`<td data-label="${label}" class="diff">missing</td>`;
      return html`<td data-label="${label}"${differs ? html` class="diff" data-differs="true"` : ""}>${column.read(own) || "—"}</td>`;
    };
    const other = pair.differences.filter((field) => !columns.some((column) => column.id === field));
    return html`<tr${pair.differences.length > 0 ? html` data-differs="true"` : ""}><th scope="row">${name}${pair.quote && pair.opportunity && other.length > 0 ? html`<br><span class="muted">also differs: ${other.join(", ")}</span>` : ""}</th>${columns.map((column) => cell("quote", column))}${columns.map((column) => cell("opportunity", column))}</tr>`;
  })}</tbody></table>`;
}

function fieldText(value: FieldValue | undefined): string {
  return value === undefined || value === null ? "" : String(value);
}
