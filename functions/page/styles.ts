/** The pages' one stylesheet, inline: no second request on a cold start, nothing to build. */
export const STYLES = `
:root{--ink:#1b1f24;--muted:#555d66;--line:#d6dae0;--bg:#f6f7f9;--card:#fff;--accent:#0b57d0;--bad:#a4161a;--bad-bg:#fde7e7;--warn:#7a4a00;--warn-bg:#fff1d6;--ok:#136c2e;--ok-bg:#e3f5e8;--diff:#fff1b8}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,select:focus-visible,summary:focus-visible{outline:3px solid #f5a524;outline-offset:2px}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
th a.sort{color:inherit}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:6px 10px;z-index:2}
header.top{background:#14213d;color:#fff;padding:10px 20px;display:flex;gap:16px;align-items:baseline;flex-wrap:wrap}
header.top a{color:#fff}
header.top .who{margin-left:auto;font-size:13px;opacity:.9}
main{max-width:1240px;margin:0 auto;padding:16px 20px 40px}
h1{font-size:22px;margin:8px 0 12px}h2{font-size:17px;margin:24px 0 8px}
.bar{display:flex;gap:12px;flex-wrap:wrap;align-items:center;margin:8px 0 14px}
.tabs{display:flex;gap:4px}
.tabs a{padding:6px 12px;border:1px solid var(--line);border-radius:6px;background:var(--card);text-decoration:none;color:var(--ink)}
.tabs a[aria-current=page]{background:var(--accent);border-color:var(--accent);color:#fff}
form.inline{display:flex;gap:6px;align-items:center}
select,button{font:inherit;padding:5px 10px;border:1px solid #8a929c;border-radius:6px;background:#fff;color:var(--ink)}
button{cursor:pointer}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}
button.danger{background:#fff;border-color:var(--bad);color:var(--bad)}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line)}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:13px;color:var(--muted);font-weight:600;background:#eef0f3}
td.nowrap{white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.tag{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12.5px;margin:1px 2px 1px 0;white-space:nowrap}
.tag.bad{background:var(--bad-bg);color:var(--bad)}.tag.warn{background:var(--warn-bg);color:var(--warn)}
.tag.ok{background:var(--ok-bg);color:var(--ok)}.tag.plain{background:#e8eaee;color:#333a42}
.muted{color:var(--muted)}
.reasons{margin:2px 0 0;padding-left:18px;font-size:13px;color:var(--bad)}
.pager{display:flex;gap:12px;margin-top:12px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:10px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.card .k{font-size:12.5px;color:var(--muted)}.card .v{font-size:17px;font-weight:600}
.actions{display:flex;gap:8px;flex-wrap:wrap;margin:12px 0}
.notice{padding:10px 12px;border-radius:8px;margin:10px 0;border:1px solid}
.notice.ok{background:var(--ok-bg);border-color:#9fd3ae;color:var(--ok)}.notice.bad{background:var(--bad-bg);border-color:#f0a9a9;color:var(--bad)}
td.diff,th.diff{background:var(--diff)}
td .was{display:block;font-size:12px;color:var(--muted)}
ol.timeline{list-style:none;margin:0;padding:0;background:var(--card);border:1px solid var(--line);border-radius:8px}
ol.timeline li{padding:8px 12px;border-bottom:1px solid var(--line)}
ol.timeline li:last-child{border-bottom:0}
ol.timeline time{display:block;font-size:12.5px;color:var(--muted)}
.parked{background:var(--bad-bg);border:1px solid #f0a9a9;border-radius:8px;padding:4px 12px 10px;margin:8px 0}
.parked p{margin:8px 0}
.empty{padding:18px;background:var(--card);border:1px dashed var(--line);border-radius:8px}
@media (max-width:720px){
 main{padding:12px}
 table.stack,table.stack tbody,table.stack tr,table.stack td,table.stack tbody th{display:block;width:100%}
 table.stack thead{position:absolute;left:-9999px}
 table.stack tr{border-bottom:2px solid var(--line);padding:6px 0}
 table.stack td{border:0;padding:3px 10px}
 table.stack td::before{content:attr(data-label);display:inline-block;min-width:42%;color:var(--muted);font-size:13px}
 table.stack td.num{text-align:left}
}
`;
