/**
 * The events page: the recent events this server has read (rendered, so the page is useful
 * without JavaScript), then new ones live through server-sent events (`/events/stream`, the
 * same filters), added at the top by /static/events.js.
 */
import { html } from 'hono/html';
import type { EventFeedStatus } from '../../adapters/event-feed.js';
import { eventCodes } from '../../domain/event-catalogue.js';
import type { LiveEvent } from '../event-hub.js';
import { queryString, type EventsQuery } from '../query.js';
import { badge, page, type Frame, type Html } from './layout.js';

export interface EventsPageData {
  query: EventsQuery;
  /** Oldest first. */
  events: LiveEvent[];
  /** The stream resumes after this position: nothing is shown twice or missed. */
  position: string;
  feed: EventFeedStatus;
  topic: string;
}

function eventClass(code: string): string {
  return /_DOWN$|_LOST$|_CONFLICT$/.test(code) ? 's-bad' : /_RETIRED$/.test(code) ? 's-gone' : 's-UP';
}

/** Where an event belongs: its cluster (a link), or the discovery it is about (no cluster page). */
function subjectCell(event: LiveEvent): Html {
  if (event.cluster_id === null) return html`<span class="tag discovery" title="an event about a discovery">discovery</span> ${event.discovery ?? '-'}`;
  return html`<a href="/clusters/${encodeURIComponent(event.cluster_id)}">${event.cluster_id}</a>`;
}

/** The mark of an event of a cluster in maintenance: alerts about it can wait until the window ends. */
function maintenanceMark(event: LiveEvent): Html {
  if (event.maintenance === null) return html``;
  return html` <span class="tag maintenance" title="in maintenance until ${event.maintenance.until}: ${event.maintenance.reason}">maintenance</span>`;
}

/** Rows of events, in the order given. */
export function eventRows(events: readonly LiveEvent[]): Html {
  return html`${events.map(
    (event) =>
      html`<tr data-id="${event.id}" data-event="${event.event}" data-cluster="${event.cluster_id ?? ''}" data-discovery="${event.discovery ?? ''}" data-maintenance="${event.maintenance ? 'true' : 'false'}"><td class="mono">${event.timestamp}</td><td>${subjectCell(event)}</td><td>${badge(event.event, eventClass(event.event))}${maintenanceMark(event)}</td><td class="mono">${event.node}</td><td class="reason">${event.detail}</td></tr>`,
  )}`;
}

/** Why the events shown may be incomplete, or null while the topic reader is live. */
export function feedNote(feed: EventFeedStatus, topic: string): string | null {
  if (feed.state === 'live') return null;
  if (feed.state === 'starting') return `Connecting to Kafka to read ${topic}...`;
  return `Not reading ${topic} since ${feed.since}: ${feed.error ?? feed.state}; trying again.`;
}

export function renderEventsPage(frame: Frame, data: EventsPageData): Html {
  const { query } = data;
  const filters = { cluster: query.cluster, code: query.codes, limit: query.limit === 200 ? null : query.limit };
  const streamUrl = `/events/stream${queryString({ ...filters, after: data.position })}`;
  const note = feedNote(data.feed, data.topic);
  const body = html`<h1>Events</h1>
<div class="sub">Every change fleetview publishes to ${data.topic}, as this server reads it: the recent ones, then new ones as they come (the newest first).</div>
${note ? html`<div class="notice warn" id="feed-note">${note}</div>` : ''}
<form class="filters" method="get" action="/events">
<label>Cluster<input type="text" name="cluster" value="${query.cluster ?? ''}" placeholder="cluster id"></label>
<label>Event<select name="code"><option value="">any</option>${eventCodes.map(
    (code) => html`<option value="${code}"${query.codes.length === 1 && query.codes[0] === code ? html` selected` : ''}>${code}</option>`,
  )}</select></label>
<button type="submit">Filter</button>
<a class="button secondary" href="/events">Reset</a>
<span id="stream-state" class="stream-state" data-state="off">live updates need JavaScript</span>
</form>
<table id="events" data-stream="${streamUrl}" data-keep="${Math.max(query.limit, 200)}">
<thead><tr><th>Time</th><th>Cluster or discovery</th><th>Event</th><th>Node</th><th>What changed</th></tr></thead>
<tbody>${eventRows([...data.events].reverse())}</tbody>
</table>
${data.events.length === 0 ? html`<p class="muted" id="no-events">No event yet${query.cluster || query.codes.length ? ' matching the filters' : ''}: new ones appear here.</p>` : ''}`;
  return page({ ...frame, script: '/static/events.js' }, body);
}
