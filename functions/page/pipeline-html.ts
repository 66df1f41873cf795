import type { PipelinePage, PipelineQuery } from "../../domain/pipeline/read-pipeline.js";
import type { Attention, PipelineRow } from "../../domain/pipeline/rows.js";
import { money, when } from "./format.js";
import { type Html, html, segment } from "./html.js";
import { humanize } from "./timeline.js";

const ATTENTION_TONE: Record<Attention["kind"], "bad" | "warn"> = {
  drift: "bad",
  delivery_failing: "bad",
  approval_required: "warn",
  milestone_pending: "warn",
  quote_expired: "bad",
};

export const ATTENTION_LABEL: Record<Attention["kind"], string> = {
  drift: "Drift",
  delivery_failing: "Delivery failing",
  approval_required: "Approval required",
  milestone_pending: "Pending at milestone",
  quote_expired: "Quote expired",
};

/** The pipeline page's body: view tabs, stage filter, the table and paging. */
export function pipelineBody(input: {
  tenantId: string;
  query: PipelineQuery;
  page: PipelinePage;
  stages: string[];
}): Html {
  const { tenantId, query, page } = input;
  const base = `/app/${segment(tenantId)}`;
  const link = (view: string, stage: string | undefined, after: string | null) => {
    const params = new URLSearchParams({ view });
    if (stage) params.set("stage", stage);
    if (after) params.set("after", after);
    return `${base}?${params.toString()}`;
  };
  const title = query.view === "attention" ? "Needs attention" : "All opportunities";
  return html`<h1>${title}</h1>
<div class="bar">
  <nav class="tabs" aria-label="Views">
    <a href="${link("attention", query.stage, null)}"${query.view === "attention" ? html` aria-current="page"` : ""}>Needs attention</a>
    <a href="${link("all", query.stage, null)}"${query.view === "all" ? html` aria-current="page"` : ""}>All opportunities</a>
  </nav>
  <form class="inline" method="get" action="${base}">
    <input type="hidden" name="view" value="${query.view}">
    <label for="stage">Stage</label>
    <select id="stage" name="stage">
      <option value="">Any stage</option>
      ${input.stages.map((stage) => html`<option${stage === query.stage ? html` selected` : ""}>${stage}</option>`)}
    </select>
    <button type="submit">Filter</button>
  </form>
</div>
${page.rows.length === 0 ? html`<p class="empty">${query.view === "attention" ? "Nothing needs attention" : "No opportunities"}${query.stage ? ` at stage ${query.stage}` : ""}${page.searchedUpTo ? " among the opportunities searched so far" : ""}.</p>` : pipelineTable(base, page.rows)}
<nav class="pager" aria-label="Pages">
  ${query.after ? html`<a href="${link(query.view, query.stage, null)}">First page</a>` : ""}
  ${page.next ? html`<a href="${link(query.view, query.stage, page.next)}" rel="next">Next page</a>` : ""}
</nav>`;
}

function pipelineTable(base: string, rows: PipelineRow[]): Html {
  return html`<table class="stack" aria-label="Opportunities">
<thead><tr><th scope="col">Opportunity</th><th scope="col">Stage</th><th scope="col" class="num">Amount</th><th scope="col">Synced quote</th><th scope="col">Mode</th><th scope="col" class="num">Pending</th><th scope="col">Attention</th><th scope="col">Delivery</th><th scope="col">Last change</th></tr></thead>
<tbody>${rows.map((row) => pipelineRowHtml(base, row))}</tbody></table>`;
}

function pipelineRowHtml(base: string, row: PipelineRow): Html {
  return html`<tr>
<td data-label="Opportunity"><a href="${base}/opportunities/${segment(row.opportunityId)}">${row.name ?? row.opportunityId}</a>${row.name ? html`<br><span class="muted">${row.opportunityId}</span>` : ""}</td>
<td data-label="Stage">${row.stage ?? "—"}</td>
<td data-label="Amount" class="num">${money(row.amount, row.currency)}${row.amountLocked ? html` <span class="tag plain" title="Locked while synced">locked</span>` : ""}</td>
<td data-label="Synced quote" class="nowrap">${row.syncedQuoteId ?? html`<span class="muted">not synced</span>`}</td>
<td data-label="Mode">${row.mode ?? "—"}</td>
<td data-label="Pending" class="num">${row.pendingChanges}</td>
<td data-label="Attention">${row.attention.length === 0 ? html`<span class="tag ok">OK</span>` : row.attention.map((item) => html`<span class="tag ${ATTENTION_TONE[item.kind]}" title="${item.text}">${ATTENTION_LABEL[item.kind]}</span>`)}${row.attention.length > 0 ? html`<ul class="reasons">${row.attention.map((item) => html`<li>${humanize(item.text.replace(/ \(sync keys? [^)]*\)/, ""))}</li>`)}</ul>` : ""}</td>
<td data-label="Delivery">${deliveryCell(row)}</td>
<td data-label="Last change" class="nowrap">${when(row.changedAt)}</td>
</tr>`;
}

/** Delivery per side once delivery reports it; a dash until then. */
export function deliveryCell(row: Pick<PipelineRow, "delivery">): Html {
  if (!row.delivery) return html`<span class="muted">—</span>`;
  const sides = (["crm", "cpq"] as const).flatMap((side) => {
    const state = row.delivery?.[side];
    if (!state) return [];
    const label = side.toUpperCase();
    if (state.failing) return [html`<span class="tag bad">${label} failing</span>`];
    if (state.pending > 0) return [html`<span class="tag warn">${label} ${state.pending} waiting</span>`];
    return [html`<span class="tag ok">${label} delivered</span>`];
  });
  return sides.length > 0 ? html`${sides}` : html`<span class="muted">—</span>`;
}
