/**
 * The frame of every page and the small pieces the pages share. Rendering is hono's `html`
 * tagged template: every interpolated string is HTML-escaped (`<img src=x onerror=...>` shows as
 * text); only `html` fragments built here are inserted as markup. Pure: data in, HTML out.
 */
import { html } from 'hono/html';
import { relativeTime } from '../../cli/format.js';

export type Html = ReturnType<typeof html>;

export type NavItem = 'fleet' | 'events' | null;

export interface Frame {
  title: string;
  nav: NavItem;
  /** Set when the visitor logged in (a token is configured): a logout button, with the form's CSRF token. */
  logout: { csrf: string } | null;
  /** Loaded after the page (the events page's live stream). */
  script?: string;
}

export function page(frame: Frame, body: Html): Html {
  const link = (item: NavItem, href: string, text: string) =>
    frame.nav === item ? html`<a href="${href}" aria-current="page">${text}</a>` : html`<a href="${href}">${text}</a>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${frame.title} · fleetview</title>
<link rel="stylesheet" href="/static/fleet.css">
</head>
<body>
<header class="top">
<a class="brand" href="/">fleetview</a>
<nav>${link('fleet', '/', 'Fleet')}${link('events', '/events', 'Events')}</nav>
${frame.logout ? html`<form method="post" action="/logout"><input type="hidden" name="csrf" value="${frame.logout.csrf}"><button type="submit">Log out</button></form>` : ''}
</header>
<main>
${body}
</main>
${frame.script ? html`<script src="${frame.script}" defer></script>` : ''}
</body>
</html>`;
}

/** A time and how long ago it was, the exact time on hover. */
export function age(iso: string | null | undefined, nowMs: number): Html {
  if (!iso) return html`<span class="muted">never</span>`;
  return html`<time datetime="${iso}" title="${iso}">${relativeTime(iso, nowMs)}</time>`;
}

/** A time to come: the time itself (it is what an operator typed) and how far off it is. */
export function until(iso: string, nowMs: number): Html {
  return html`<time datetime="${iso}">${iso}</time> <span class="muted">(${relativeTime(iso, nowMs)})</span>`;
}

export function badge(code: string, className = `s-${code}`): Html {
  return html`<span class="badge ${className}">${code}</span>`;
}

/** A number, or a dash when unknown; `bad` when above zero marks it. */
export function num(value: number | null | undefined, alarming = false): Html {
  if (value === null || value === undefined) return html`<span class="muted">-</span>`;
  return alarming && value > 0 ? html`<span class="bad">${value}</span>` : html`${value}`;
}

/** The page shown for a problem (bad query parameter, unknown cluster): the message, escaped. */
export function problemPage(frame: Frame, heading: string, message: string): Html {
  return page(frame, html`<h1>${heading}</h1><div class="notice bad">${message}</div><p><a href="/">Back to the fleet</a></p>`);
}
