import type {
  PipelinePage,
  PipelineQuery,
  PipelineSort,
  SortDirection,
} from "../../domain/pipeline/read-pipeline.js";
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

/** The sort orders offered, as the `sort` parameter names them. */
export const SORTS = {
  "stage-asc": { by: "stage", direction: "asc", label: "Stage, A to Z" },
  "stage-desc": { by: "stage", direction: "desc", label: "Stage, Z to A" },
  "amount-desc": { by: "amount", direction: "desc", label: "Amount, largest first" },
  "amount-asc": { by: "amount", direction: "asc", label: "Amount, smallest first" },
  "changed-desc": { by: "changed", direction: "desc", label: "Last change, newest first" },
  "changed-asc": { by: "changed", direction: "asc", label: "Last change, oldest first" },
} as const satisfies Record<string, { by: PipelineSort; direction: SortDirection; label: string }>;
export type SortName = keyof typeof SORTS;

/** A column's first click: stages A to Z, amounts and changes largest/newest first. */
const FIRST_DIRECTION: Record<PipelineSort, SortDirection> = {
  stage: "asc",
  amount: "desc",
  changed: "desc",
};

/** The pipeline page's body: view tabs, stage filter and sort, the table and paging. */
export function pipelineBody(input: {
  tenantId: string;
  query: PipelineQuery;
  page: PipelinePage;
  stages: string[];
}): Html {
  const { tenantId, query, page } = input;
  const base = `/app/${segment(tenantId)}`;
  const sortName = query.sort ? (`${query.sort.by}-${query.sort.direction}` as SortName) : undefined;
  const link = (view: string, stage: string | undefined, after: string | null, sort = sortName) => {
    const params = new URLSearchParams({ view });
    if (stage) params.set("stage", stage);
    if (sort && view === "all") params.set("sort", sort);
    if (after) params.set("after", after);
    return `${base}?${params.toString()}`;
  };
  const sortable = query.view === "all";
  const header = (by: PipelineSort, label: string, numeric = false): Html => {
    const cls = numeric ? html` class="num"` : "";
    if (!sortable) return html`<th scope="col"${cls}>${label}</th>`;
    const current = query.sort?.by === by ? query.sort.direction : undefined;
    const next: SortDirection = current ? (current === "asc" ? "desc" : "asc") : FIRST_DIRECTION[by];
    const state = current === "asc" ? "ascending" : current === "desc" ? "descending" : undefined;
    return html`<th scope="col"${cls}${state ? html` aria-sort="${state}"` : ""}><a class="sort" href="${link("all", query.stage, null, `${by}-${next}` as SortName)}">${label}<span class="visually-hidden">, sort ${SORTS[`${by}-${next}` as SortName].label.toLowerCase()}</span></a>${current ? html` <span aria-hidden="true">${current === "asc" ? "▲" : "▼"}</span>` : ""}</th>`;
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
    ${
      sortable
        ? html`<label for="sort">Sort</label>
    <select id="sort" name="sort">
      <option value="">Opportunity id</option>
      ${(Object.keys(SORTS) as SortName[]).map((name) => html`<option value="${name}"${name === sortName ? html` selected` : ""}>${SORTS[name].label}</option>`)}
    </select>`
        : ""
    }
    <button type="submit">${sortable ? "Apply" : "Filter"}</button>
  </form>
</div>
${page.rows.length === 0 ? html`<p class="empty">${query.view === "attention" ? "Nothing needs attention" : "No opportunities"}${query.stage ? ` at stage ${query.stage}` : ""}${page.searchedUpTo ? " among the opportunities searched so far" : ""}.</p>` : pipelineTable(base, page.rows, header, query.sort ? SORTS[sortName as SortName].label : null)}
<nav class="pager" aria-label="Pages">
  ${query.after ? html`<a href="${link(query.view, query.stage, null)}">First page</a>` : ""}
  ${page.next ? html`<a href="${link(query.view, query.stage, page.next)}" rel="next">Next page</a>` : ""}
</nav>`;
}

function pipelineTable(
  base: string,
  rows: PipelineRow[],
  header: (by: PipelineSort, label: string, numeric?: boolean) => Html,
  sortedBy: string | null,
): Html {
  return html`<table class="stack" aria-label="Opportunities">${sortedBy ? html`<caption class="visually-hidden">Sorted by ${sortedBy.toLowerCase()}</caption>` : ""}
<thead><tr><th scope="col">Opportunity</th>${header("stage", "Stage")}${header("amount", "Amount", true)}<th scope="col">Synced quote</th><th scope="col">Mode</th><th scope="col" class="num">Pending</th><th scope="col">Attention</th><th scope="col">Delivery</th>${header("changed", "Last change")}</tr></thead>
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

/** Delivery per side that delivers, from its queue; a dash for a tenant whose sides do not deliver. */
export function deliveryCell(row: Pick<PipelineRow, "delivery">): Html {
  if (!row.delivery) return html`<span class="muted">—</span>`;
  const sides = (["crm", "cpq"] as const).flatMap((side) => {
    const state = row.delivery?.[side];
    if (!state) return [];
    const label = side.toUpperCase();
    if (state.parkedEntryId) return [html`<span class="tag bad">${label} parked</span>`];
    if (state.failing) return [html`<span class="tag bad">${label} failing, retrying</span>`];
    if (state.pending > 0) return [html`<span class="tag warn">${label} ${state.pending} waiting</span>`];
    return [html`<span class="tag ok">${label} delivered</span>`];
  });
  return sides.length > 0 ? html`${sides}` : html`<span class="muted">—</span>`;
}
