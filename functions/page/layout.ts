import { Html, html, segment } from "./html.js";
import { STYLES } from "./styles.js";

export interface PageFrame {
  title: string;
  tenantId: string;
  viewer: string;
  canAct: boolean;
  body: Html;
}

/** The document around every page: landmarks, a skip link, who is viewing and what they may do. */
export function layout(frame: PageFrame): string {
  return `<!doctype html>${
    html`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${frame.title} · quotesync</title>
<style>${rawStyles()}</style></head>
<body><a class="skip" href="#main">Skip to content</a>
<header class="top"><strong>quotesync</strong><nav aria-label="Site"><a href="/app/${segment(frame.tenantId)}">Pipeline</a></nav>
<span class="who">Tenant ${frame.tenantId} · ${frame.viewer} · ${frame.canAct ? "may act: sync, delivery retries" : "read only"}</span></header>
<main id="main">${frame.body}</main></body></html>`.value
  }`;
}

function rawStyles(): Html {
  return new Html(STYLES);
}

/** A page that shows nothing of the tenant: refused or expired access. */
export function refusalPage(title: string, message: string): string {
  return `<!doctype html>${
    html`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>${title} · quotesync</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:640px;margin:60px auto;padding:0 20px;color:#1b1f24}</style>
</head><body><main><h1>${title}</h1><p>${message}</p></main></body></html>`.value
  }`;
}
