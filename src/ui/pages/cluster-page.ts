/**
 * One cluster: its summary, members and shards (a page of each, from the workflow's `view`
 * query, else from the store), the effective settings, the last refresh report, its recent
 * events, a "refresh now" button (a POST with the form's CSRF token) and links into the
 * Temporal Web UI.
 */
import { html } from 'hono/html';
import type { ControlOutcome, RefreshOutcome } from '../../adapters/cluster-control.js';
import type { DiscoveryFacts } from '../../adapters/fleet-reads.js';
import type { ClusterSummary } from '../../adapters/store-documents.js';
import { controlledSettings, windowActive, type ControlledSetting, type ControlWindow, type EffectiveSettings } from '../../domain/cluster-controls.js';
import type { ShardSummary, ViewNode } from '../../domain/cluster-view.js';
import type { Offset, ShardRole } from '../../domain/observation.js';
import type { ClusterRefreshSettings, RefreshReport, ViewQueryResult } from '../../workflows/messages.js';
import type { LiveEvent } from '../event-hub.js';
import { queryString, type ClusterPageQuery } from '../query.js';
import { eventRows } from './events-page.js';
import { age, badge, num, page, until, type Frame, type Html } from './layout.js';

/** A page of a list: the items shown and how many there are in all. */
export interface Paged<T> {
  items: T[];
  total: number;
  offset: number;
  /** Cut short of the limit to keep the answer small. */
  truncated: boolean;
}

export interface ClusterPageData {
  clusterId: string;
  nowMs: number;
  /** Where the view came from, and why not from the workflow when it did not. */
  source: { kind: 'workflow'; phase: string } | { kind: 'store'; why: string } | { kind: 'none'; why: string };
  summary: ClusterSummary | null;
  members: Paged<ViewNode> | null;
  shards: Paged<ShardSummary> | null;
  /** From the workflow only. */
  workflow: Pick<ViewQueryResult, 'phase' | 'events_pending' | 'stored_generation' | 'store_error' | 'published_generation' | 'record_nodes_total'> & {
    settings: ClusterRefreshSettings;
    last_report: RefreshReport | null;
    status: string | null;
  } | null;
  discovery: DiscoveryFacts | null;
  events: LiveEvent[];
  /** Why the recent events may be incomplete (the topic reader is not live), or null. */
  eventsNote: string | null;
  /** The answer to a "refresh now" just asked for. */
  refresh: RefreshOutcome | null;
  /** The answer to a pause, resume or maintenance just asked for. */
  control: ControlOutcome | null;
  csrf: string;
  links: { workflow: string; run: string | null };
  query: ClusterPageQuery;
  /** The worker's default agent timeout, shown when the cluster has none of its own. */
  defaultAgentTimeoutMs: number;
  /** The operator's controls: from the workflow's view query when it answers with them, else from the store; null when neither knows. */
  controls: ClusterControlsFacts | null;
}

/** Settings in effect with where each came from, the pause and the maintenance window. */
export interface ClusterControlsFacts {
  /** The workflow holds them as they are; the store holds the operator's and the discovery's layers (the default layer is the worker's). */
  from: 'workflow' | 'store';
  settings: EffectiveSettings;
  pause: ControlWindow | null;
  maintenance: ControlWindow | null;
}

const settingTitles: Record<ControlledSetting, [string, 's' | 'ms']> = {
  refresh_interval_s: ['refresh interval', 's'],
  agent_timeout_ms: ['agent timeout', 'ms'],
  node_retire_grace_s: ['node retire grace', 's'],
  cluster_retire_grace_s: ['cluster retire grace', 's'],
};
const sourceTitles = { operator: 'set by an operator', discovery: 'from the discovery', default: 'the default' } as const;

function windowFacts(window: ControlWindow | null, kind: 'pause' | 'maintenance', nowMs: number): Html {
  if (window === null) return html`<span class="muted">no</span>`;
  const who = html`by ${window.actor.user}${window.actor.identity ? html` <span class="muted">(${window.actor.identity})</span>` : ''}`;
  // A window whose end has passed holds no more, though its workflow has not cleared it yet.
  const end = window.until;
  if (end !== null && !windowActive(window, nowMs)) return html`<span class="muted" data-window="ended">ended ${until(end, nowMs)}</span>`;
  return html`<span class="badge s-${kind === 'pause' ? 'paused' : 'maintenance'}" data-window="active">${kind === 'pause' ? 'paused' : 'in maintenance'}</span>
<div class="sub">since ${window.since}, ${window.until ? html`until ${until(window.until, nowMs)}` : 'until resumed'}, ${who}</div>
<div class="reason">${window.reason}</div>`;
}

/** Durations the pause and maintenance forms offer (seconds). */
const durations: Array<[number, string]> = [
  [900, '15 minutes'],
  [3600, '1 hour'],
  [7200, '2 hours'],
  [28_800, '8 hours'],
  [86_400, '24 hours'],
];

const actionTitles = { pause: 'Pause', resume: 'Resume', maintenance: 'Maintenance', 'end-maintenance': 'End of maintenance' } as const;

function controlResult(outcome: ControlOutcome | null): Html {
  if (outcome === null) return html``;
  if (!outcome.ok) return html`<div class="notice bad" id="control-result" data-ok="false" data-action="${outcome.action}">${actionTitles[outcome.action]} refused or failed: ${outcome.problem}</div>`;
  const { result } = outcome;
  const state = result.pause ? 'paused' : result.maintenance ? 'in maintenance' : 'polled as usual';
  return html`<div class="notice ok" id="control-result" data-ok="true" data-action="${outcome.action}" data-changed="${String(result.changed)}">${actionTitles[outcome.action]}: ${
    result.changed ? 'done' : 'nothing to change'
  }; the cluster is ${state} (controls revision ${result.revision}${result.recorded ? '' : '; its audit event and the store take it when they answer'}).</div>`;
}

/** The forms that pause, resume, start and end maintenance: POSTs with the CSRF token, shown when the workflow answers. */
function controlForms(data: ClusterPageData, controls: ClusterControlsFacts): Html {
  const action = (route: string) => `/clusters/${encodeURIComponent(data.clusterId)}/${route}`;
  const csrf = html`<input type="hidden" name="csrf" value="${data.csrf}">`;
  const paused = windowActive(controls.pause, data.nowMs);
  const inMaintenance = windowActive(controls.maintenance, data.nowMs);
  const reason = html`<label>Reason<input type="text" name="reason" required maxlength="200" placeholder="why (one line)"></label>`;
  const pauseForm = paused
    ? html`<form method="post" action="${action('resume')}" id="resume-form" class="filters">${csrf}<button type="submit" id="resume">Resume</button></form>`
    : html`<form method="post" action="${action('pause')}" id="pause-form" class="filters">${csrf}${reason}<label>For<select name="for"><option value="">until resumed</option>${durations.map(
        ([seconds, text]) => html`<option value="${seconds}">${text}</option>`,
      )}</select></label><button type="submit" id="pause-now">Pause polling</button></form>`;
  const maintenanceForm = inMaintenance
    ? html`<form method="post" action="${action('maintenance')}" id="end-maintenance-form" class="filters">${csrf}<input type="hidden" name="end" value="true"><button type="submit" id="end-maintenance">End maintenance</button></form>`
    : html`<form method="post" action="${action('maintenance')}" id="maintenance-form" class="filters">${csrf}${reason}<label>For<select name="for">${durations.map(
        ([seconds, text]) => html`<option value="${seconds}"${seconds === 3600 ? html` selected` : ''}>${text}</option>`,
      )}</select></label><button type="submit" id="maintenance-now">Start maintenance</button></form>`;
  return html`${pauseForm}${maintenanceForm}`;
}

function controlsCard(data: ClusterPageData): Html {
  const controls = data.controls;
  if (controls === null) return html`<section class="card" id="controls"><h2>Operator controls</h2><p class="muted">Not known: neither the workflow nor the store answered.</p></section>`;
  return html`<section class="card" id="controls"><h2>Operator controls</h2>
<dl class="facts">
<dt>paused</dt><dd id="pause">${windowFacts(controls.pause, 'pause', data.nowMs)}</dd>
<dt>maintenance</dt><dd id="maintenance">${windowFacts(controls.maintenance, 'maintenance', data.nowMs)}</dd>
${controlledSettings.map((key) => {
  const [title, unit] = settingTitles[key];
  const setting = controls.settings[key];
  const value =
    setting.value === null
      ? key === 'agent_timeout_ms'
        ? `${data.defaultAgentTimeoutMs} ms (the worker's default)`
        : "the worker's default"
      : html`${setting.value} ${unit} <span class="muted" data-source="${setting.source}">(${setting.source ? sourceTitles[setting.source] : ''})</span>`;
  return html`<dt>${title}</dt><dd data-setting="${key}">${value}</dd>`;
})}
</dl>
<div class="sub">${
    controls.from === 'workflow'
      ? 'From the cluster\'s workflow.'
      : 'From the store (the workflow did not answer with them): the operator\'s and the discovery\'s settings; the defaults are the worker\'s.'
  } Change them with <code>fleetview cluster set|pause|resume|maintenance ${data.clusterId}</code>${data.source.kind === 'workflow' ? ', or here' : ''}.</div>
${data.source.kind === 'workflow' ? controlForms(data, controls) : ''}
</section>`;
}

function roleText(role: ShardRole): string {
  return typeof role === 'string' ? role : role.unknown;
}

function lagText(lags: Offset[]): string {
  return lags.length === 0 ? '-' : lags.map((lag) => `${lag.value} ${typeof lag.unit === 'string' ? lag.unit : lag.unit.unit}`).join(', ');
}

function clusterLink(data: ClusterPageData, change: Partial<ClusterPageQuery>): string {
  const next = { ...data.query, ...change };
  return `/clusters/${encodeURIComponent(data.clusterId)}${queryString({
    node: next.node,
    shard: next.shard,
    members_offset: next.members_offset || null,
    shards_offset: next.shards_offset || null,
    limit: next.limit === 50 ? null : next.limit,
  })}`;
}

function pager(data: ClusterPageData, what: 'members' | 'shards', paged: Paged<unknown>): Html {
  if (paged.total <= paged.items.length && paged.offset === 0) return html``;
  const key = what === 'members' ? 'members_offset' : 'shards_offset';
  const from = paged.items.length === 0 ? 0 : paged.offset + 1;
  const nextOffset = paged.offset + paged.items.length;
  return html`<div class="pager" data-pager="${what}">
${paged.offset > 0 ? html`<a href="${clusterLink(data, { [key]: Math.max(0, paged.offset - data.query.limit) })}">← previous</a>` : ''}
<span>${what} ${from}-${nextOffset} of ${paged.total}${paged.truncated ? ' (cut short to keep the answer small)' : ''}</span>
${nextOffset < paged.total ? html`<a href="${clusterLink(data, { [key]: nextOffset })}" rel="next">next →</a>` : ''}
</div>`;
}

function memberRow(node: ViewNode, nowMs: number): Html {
  const primaries = node.shards?.filter((shard) => roleText(shard.role) === 'primary').length ?? 0;
  const notes: Html[] = [];
  if (node.left_discovery_at) notes.push(html`<div class="sub">leaving: unlisted since ${node.left_discovery_at}</div>`);
  if (node.shards_error) notes.push(html`<div class="reason">shards: ${node.shards_error}</div>`);
  if (node.last_error && node.status.code === 'UP') notes.push(html`<div class="sub">last error ${age(node.last_error.at, nowMs)}: ${node.last_error.message}</div>`);
  return html`<tr data-address="${node.address}" data-status="${node.status.code}">
<td class="mono">${node.node_id ?? html`<span class="muted">-</span>`}</td>
<td class="mono">${node.address}</td>
<td>${badge(node.status.code)}${node.status.reason ? html`<div class="reason">${node.status.reason}</div>` : ''}${notes}</td>
<td>${node.datastore ? `${node.datastore.kind} ${node.datastore.version}` : html`<span class="muted">-</span>`}</td>
<td>${node.agent?.version.number ?? html`<span class="muted">-</span>`}</td>
<td class="num">${node.shards === null ? html`<span class="muted">-</span>` : html`${primaries} primary / ${node.shards.length}`}</td>
<td>${age(node.last_successful_refresh_at, nowMs)}</td>
</tr>`;
}

function shardRow(shard: ShardSummary): Html {
  const primary = shard.primary
    ? html`<span class="mono">${shard.primary.node_id ?? shard.primary.address}</span>`
    : shard.primaries.length > 1
      ? html`<span class="bad">CONFLICT: ${shard.primaries.map((ref) => ref.node_id ?? ref.address).join(', ')}</span>`
      : html`<span class="bad">none</span>`;
  return html`<tr data-shard="${shard.id}"><td class="mono">${shard.id}</td><td>${primary}</td><td class="num">${shard.allocations}</td><td class="num">${lagText(shard.max_lag)}</td></tr>`;
}

function reportFacts(report: RefreshReport): Html {
  return html`<dl class="facts">
<dt>generation</dt><dd>${report.generation}</dd>
<dt>started</dt><dd>${report.started_at}</dd>
<dt>took</dt><dd>${report.duration_ms} ms</dd>
<dt>nodes fetched</dt><dd>${report.nodes_fetched}, ${report.nodes_down} down</dd>
<dt>events</dt><dd>${report.events_emitted}</dd>
<dt>status</dt><dd>${badge(report.status)}</dd>
<dt>store</dt><dd>${report.store}</dd>
</dl>`;
}

function refreshResult(outcome: RefreshOutcome | null): Html {
  if (outcome === null) return html``;
  if (!outcome.ok) return html`<div class="notice bad" id="refresh-result" data-ok="false">Refresh now failed: ${outcome.problem}</div>`;
  const r = outcome.report;
  return html`<div class="notice ok" id="refresh-result" data-ok="true" data-generation="${r.generation}">Refreshed: generation ${r.generation}, ${r.status}, ${r.nodes_fetched} nodes fetched, ${r.nodes_down} down, ${r.events_emitted} events, ${r.duration_ms} ms (started ${r.started_at}; store: ${r.store}).</div>`;
}

export function renderClusterPage(frame: Frame, data: ClusterPageData): Html {
  const { summary, workflow, discovery, nowMs } = data;
  const settings = workflow?.settings;
  const sourceText =
    data.source.kind === 'workflow' ? `the cluster's workflow (${data.source.phase})` : data.source.kind === 'store' ? `the store: ${data.source.why}` : data.source.why;
  const body = html`<div class="sub"><a href="/">Fleet</a> / cluster</div>
<h1>${data.clusterId}${summary?.display_name ? html` <span class="muted display-name">${summary.display_name}</span>` : ''}</h1>
${refreshResult(data.refresh)}
${controlResult(data.control)}
<div class="actions">
${summary ? badge(summary.status) : discovery?.retired_at ? badge('RETIRED') : badge('NEW')}
<form method="post" action="/clusters/${encodeURIComponent(data.clusterId)}/refresh" id="refresh-form">
<input type="hidden" name="csrf" value="${data.csrf}">
<button type="submit" id="refresh-now">Refresh now</button>
</form>
<a href="${data.links.workflow}" rel="noreferrer" target="_blank" id="web-ui-workflow">Workflow in the Temporal Web UI</a>
${data.links.run ? html`<a href="${data.links.run}" rel="noreferrer" target="_blank" id="web-ui-run">Current run</a>` : ''}
</div>
<div class="sub">View from ${sourceText}.</div>
<div class="grid">
<section class="card"><h2>Summary</h2>
${
  summary
    ? html`<dl class="facts">
<dt>status</dt><dd>${badge(summary.status)}</dd>
<dt>nodes</dt><dd>${summary.nodes} listed: ${num(summary.agents_down, true)} agents down, ${num(summary.nodes_down, true)} nodes down</dd>
<dt>shards</dt><dd>${summary.shards_count}, ${num(summary.shards_count - summary.shards_primaries, true)} without exactly one primary</dd>
<dt>kinds</dt><dd>${summary.kinds.join(', ') || '-'}</dd>
<dt>refreshed</dt><dd>${age(summary.refreshed_at, nowMs)} (generation ${summary.generation})</dd>
<dt>discovery</dt><dd>${discovery ? html`${discovery.discovery}${discovery.record_nodes !== undefined ? ` (${discovery.record_nodes} nodes listed)` : ''}${discovery.missing_since ? html` <span class="warn">unlisted since ${discovery.missing_since}</span>` : ''}${discovery.held_by.length ? html` <span class="warn">retirement held by ${discovery.held_by.join(', ')}</span>` : ''}${discovery.retired_at ? html` <span class="warn">retired at ${discovery.retired_at}</span>` : ''}` : '-'}</dd>
</dl>`
    : html`<p class="muted">Not refreshed yet.</p>`
}
</section>
<section class="card"><h2>Settings</h2>
${
  settings && workflow
    ? html`<dl class="facts" id="settings">
<dt>refresh interval</dt><dd>${settings.refresh_interval_s} s</dd>
<dt>agent timeout</dt><dd>${settings.agent_timeout_ms === null ? `${data.defaultAgentTimeoutMs} ms (the worker's default)` : `${settings.agent_timeout_ms} ms`}</dd>
<dt>node retire grace</dt><dd>${settings.node_retire_grace_s} s</dd>
<dt>refreshes per run</dt><dd>${settings.max_refreshes_per_run}</dd>
<dt>store touch</dt><dd>${settings.store_touch_s} s</dd>
<dt>doing</dt><dd>${workflow.phase}${workflow.events_pending ? `, ${workflow.events_pending} events being published` : ''}</dd>
<dt>stored generation</dt><dd>${workflow.stored_generation ?? 'none yet'}${workflow.store_error ? html` <span class="bad">store: ${workflow.store_error}</span>` : ''}</dd>
<dt>published generation</dt><dd>${workflow.published_generation}</dd>
<dt>workflow</dt><dd>${workflow.status ?? '-'}</dd>
</dl>`
    : html`<p class="muted">Known only to the cluster's workflow: ${data.source.kind === 'workflow' ? 'it has not answered' : data.source.why}</p>`
}
</section>
${controlsCard(data)}
<section class="card"><h2>Last refresh</h2>
${workflow?.last_report ? reportFacts(workflow.last_report) : html`<p class="muted">${workflow ? 'No refresh yet.' : 'Known only to the cluster\'s workflow.'}</p>`}
</section>
</div>
<h2>Members</h2>
<form class="filters" method="get" action="/clusters/${encodeURIComponent(data.clusterId)}">
<label>Node (address or node id)<input type="text" name="node" value="${data.query.node ?? ''}"></label>
<label>Shard<input type="text" name="shard" value="${data.query.shard ?? ''}"></label>
<label>Per page<input type="text" name="limit" value="${data.query.limit}" size="5"></label>
<button type="submit">Show</button>
${data.query.node || data.query.shard ? html`<a class="button secondary" href="/clusters/${encodeURIComponent(data.clusterId)}">All</a>` : ''}
</form>
${
  data.members
    ? html`${pager(data, 'members', data.members)}
<table id="members"><thead><tr><th>Node</th><th>Agent</th><th>Status</th><th>Datastore</th><th>Agent version</th><th class="num">Shards</th><th>Last success</th></tr></thead>
<tbody>${data.members.items.map((node) => memberRow(node, nowMs))}</tbody></table>
${data.members.items.length === 0 ? html`<p class="muted">No member matches.</p>` : ''}`
    : html`<p class="muted">Not available: ${data.source.kind === 'workflow' ? 'the workflow has not refreshed the cluster yet' : data.source.why}</p>`
}
<h2>Shards</h2>
${
  data.shards
    ? html`${pager(data, 'shards', data.shards)}
<table id="shards"><thead><tr><th>Shard</th><th>Primary</th><th class="num">Allocations</th><th class="num">Max lag</th></tr></thead>
<tbody>${data.shards.items.map(shardRow)}</tbody></table>
${data.shards.items.length === 0 ? html`<p class="muted">No shard matches.</p>` : ''}`
    : html`<p class="muted">Not available.</p>`
}
<h2>Recent events</h2>
${data.eventsNote ? html`<div class="notice warn">${data.eventsNote}</div>` : ''}
<table id="cluster-events"><thead><tr><th>Time</th><th>Cluster</th><th>Event</th><th>Node</th><th>What changed</th></tr></thead>
<tbody>${eventRows([...data.events].reverse())}</tbody></table>
${data.events.length === 0 ? html`<p class="muted">None among the recent events this server has read.</p>` : ''}
<p><a href="/events?cluster=${encodeURIComponent(data.clusterId)}">Follow this cluster's events live</a></p>`;
  return page(frame, body);
}
