/**
 * The fleet page: every cluster, the worst first; sortable and filterable through query
 * parameters (links and a GET form), so it works without JavaScript.
 */
import { html } from 'hono/html';
import type { DiscoveryHealth } from '../../adapters/fleet-reads.js';
import type { ControlWindow } from '../../domain/cluster-controls.js';
import { describeRetirementHold } from '../../domain/retirement-guard.js';
import { fleetControlFilters, fleetStatuses, type FleetControlFilter, type FleetPage, type FleetQuery, type FleetRow, type FleetSortKey } from '../fleet-rows.js';
import { queryString } from '../query.js';
import { age, badge, num, page, until, type Frame, type Html } from './layout.js';

export interface FleetPageData {
  fleet: FleetPage;
  query: FleetQuery;
  health: DiscoveryHealth[];
  /** More clusters than one page read: the list was cut. */
  cut: boolean;
  /** Why the pause and maintenance windows could not be read, or null. */
  controlsError: string | null;
  nowMs: number;
  /** How long reading and building the page took, and the store queries it needed. */
  cost: { ms: number; queries: number };
}

/** The query string of the fleet page with `change` applied (filters kept, paging reset unless given). */
function fleetLink(query: FleetQuery, change: Partial<FleetQuery>): string {
  const next = { ...query, offset: 0, ...change };
  return `/${queryString({
    status: next.status,
    kind: next.kind,
    q: next.q,
    control: next.control,
    sort: next.sort === 'status' ? null : next.sort,
    dir: next.dir === 'asc' ? null : next.dir,
    offset: next.offset || null,
    limit: next.limit === 1000 ? null : next.limit,
  })}`;
}

function sortHeader(query: FleetQuery, key: FleetSortKey, title: string, numeric = false): Html {
  const active = query.sort === key;
  const dir = active && query.dir === 'asc' ? 'desc' : 'asc';
  const arrow = active ? (query.dir === 'asc' ? ' ▲' : ' ▼') : '';
  return html`<th class="${numeric ? 'num' : ''}" aria-sort="${active ? (query.dir === 'asc' ? 'ascending' : 'descending') : 'none'}"><a href="${fleetLink(query, { sort: key, dir })}">${title}${arrow}</a></th>`;
}

const controlTitles: Record<FleetControlFilter, string> = { paused: 'paused', maintenance: 'in maintenance' };

/** A pause or maintenance window in a cell: until when, why and who (all escaped: operators typed them). */
export function windowCell(window: ControlWindow | null, kind: FleetControlFilter, nowMs: number): Html {
  if (window === null) return html`<span class="muted">-</span>`;
  return html`<span class="badge ${kind === 'paused' ? 's-paused' : 's-maintenance'}">${controlTitles[kind]}</span><div class="sub">${
    window.until ? html`until ${until(window.until, nowMs)}` : 'until resumed'
  }, by ${window.actor.user}</div><div class="reason">${window.reason}</div>`;
}

function row(cluster: FleetRow, nowMs: number): Html {
  const nodes = cluster.nodes_total === null ? html`<span class="muted">-</span>` : html`${cluster.nodes_up}/${cluster.nodes_total}`;
  const shards =
    cluster.shards_without_primary === null ? html`<span class="muted">-</span>` : html`${num(cluster.shards_without_primary, true)}<span class="muted"> of ${cluster.shards_total}</span>`;
  return html`<tr data-cluster="${cluster.cluster_id}" data-status="${cluster.status}" data-paused="${cluster.pause ? 'true' : 'false'}" data-maintenance="${cluster.maintenance ? 'true' : 'false'}">
<td><a href="/clusters/${encodeURIComponent(cluster.cluster_id)}">${cluster.cluster_id}</a>${cluster.display_name ? html`<div class="sub display-name">${cluster.display_name}</div>` : ''}</td>
<td>${badge(cluster.status)}${cluster.unlisted ? html`<span class="tag" title="no discovery lists it: retired after its grace period">unlisted</span>` : ''}</td>
<td>${cluster.kinds.join(', ') || html`<span class="muted">-</span>`}</td>
<td class="num">${nodes}</td>
<td class="num">${num(cluster.agents_down, true)}</td>
<td class="num">${num(cluster.nodes_down, true)}</td>
<td class="num">${shards}</td>
<td>${age(cluster.refreshed_at, nowMs)}${cluster.generation !== null ? html`<div class="sub">generation ${cluster.generation}</div>` : ''}</td>
<td>${cluster.discovery ?? html`<span class="muted">-</span>`}</td>
<td>${cluster.held_by.length > 0 ? html`<span class="warn">held by ${cluster.held_by.join(', ')}</span>` : html`<span class="muted">-</span>`}</td>
<td class="pause">${windowCell(cluster.pause, 'paused', nowMs)}</td>
<td class="maintenance">${windowCell(cluster.maintenance, 'maintenance', nowMs)}</td>
</tr>`;
}

function banners(health: DiscoveryHealth[]): Html {
  return html`${health.map((discovery) => {
    const parts: Html[] = [];
    if (discovery.hold) {
      parts.push(
        html`<div class="notice warn">Discovery <strong>${discovery.name}</strong>: ${describeRetirementHold(discovery.hold)}. Accept the shrink with <code>fleetview discovery release ${discovery.name}</code>, or fix its source.</div>`,
      );
    }
    if (discovery.enabled && discovery.last_run && !discovery.last_run.ok) {
      parts.push(html`<div class="notice bad">Discovery <strong>${discovery.name}</strong> failed at ${discovery.last_run.at}: ${discovery.last_run.error ?? 'unknown error'} (its clusters keep their last records).</div>`);
    }
    return parts;
  })}`;
}

export function renderFleetPage(frame: Frame, data: FleetPageData): Html {
  const { fleet, query, nowMs } = data;
  const statusChips = fleetStatuses.map((status) => {
    const selected = query.status.length === 1 && query.status[0] === status;
    return html`<a href="${fleetLink(query, { status: selected ? [] : [status] })}" class="${selected ? 'selected' : ''}">${badge(`${status} ${fleet.counts[status]}`, `s-${status}`)}</a>`;
  });
  const controlChips = fleetControlFilters.map((control) => {
    const selected = query.control === control;
    return html`<a href="${fleetLink(query, { control: selected ? null : control })}" class="${selected ? 'selected' : ''}" data-control="${control}">${badge(`${controlTitles[control]} ${fleet.controlCounts[control]}`, `s-${control}`)}</a>`;
  });
  const shownFrom = fleet.rows.length === 0 ? 0 : query.offset + 1;
  const pager =
    fleet.matched > fleet.rows.length
      ? html`<div class="pager">
${query.offset > 0 ? html`<a href="${fleetLink(query, { offset: Math.max(0, query.offset - query.limit) })}">← previous ${query.limit}</a>` : ''}
<span>clusters ${shownFrom}-${query.offset + fleet.rows.length} of ${fleet.matched}</span>
${query.offset + fleet.rows.length < fleet.matched ? html`<a href="${fleetLink(query, { offset: query.offset + query.limit })}">next ${query.limit} →</a>` : ''}
</div>`
      : '';
  const body = html`<h1>Fleet</h1>
<div class="sub">${fleet.total} clusters; ${fleet.matched === fleet.total ? 'all shown' : `${fleet.matched} match the filters`}, the worst first unless sorted otherwise. Read from the store in ${data.cost.ms} ms (${data.cost.queries} queries); the store's refresh times are at most a touch interval old (store_touch_s).</div>
${data.cut ? html`<div class="notice warn">The fleet has more clusters than the page reads at once: the list is cut (the clusters past it, by id, are not shown).</div>` : ''}
${banners(data.health)}
${data.controlsError ? html`<div class="notice warn" id="controls-note">Pauses and maintenance windows are not shown: the store did not answer (${data.controlsError}).</div>` : ''}
<div class="chips">${statusChips}${controlChips}</div>
<form class="filters" method="get" action="/">
<label>Status<select name="status">
<option value="">any</option>
${fleetStatuses.map((status) => html`<option value="${status}"${query.status.length === 1 && query.status[0] === status ? html` selected` : ''}>${status}</option>`)}
</select></label>
<label>Kind<select name="kind">
<option value="">any</option>
${fleet.kinds.map((kind) => html`<option value="${kind}"${query.kind === kind ? html` selected` : ''}>${kind}</option>`)}
</select></label>
<label>Paused, maintenance<select name="control">
<option value="">any</option>
${fleetControlFilters.map((control) => html`<option value="${control}"${query.control === control ? html` selected` : ''}>${controlTitles[control]}</option>`)}
</select></label>
<label>Cluster, name or discovery<input type="search" name="q" value="${query.q ?? ''}" placeholder="text"></label>
<input type="hidden" name="sort" value="${query.sort === 'status' ? '' : query.sort}">
<input type="hidden" name="dir" value="${query.dir === 'asc' ? '' : query.dir}">
<button type="submit">Filter</button>
<a class="button secondary" href="/">Reset</a>
</form>
${pager}
<table id="fleet">
<thead><tr>
${sortHeader(query, 'cluster', 'Cluster')}
${sortHeader(query, 'status', 'Status')}
<th>Kinds</th>
${sortHeader(query, 'nodes', 'Nodes up', true)}
${sortHeader(query, 'agents_down', 'Agents down', true)}
${sortHeader(query, 'nodes_down', 'Nodes down', true)}
${sortHeader(query, 'shards_without_primary', 'Shards without primary', true)}
${sortHeader(query, 'refreshed', 'Last refresh')}
${sortHeader(query, 'discovery', 'Discovery')}
<th>Retirement</th>
<th>Paused</th>
<th>Maintenance</th>
</tr></thead>
<tbody>
${fleet.rows.map((cluster) => row(cluster, nowMs))}
</tbody>
</table>
${fleet.rows.length === 0 ? html`<p class="muted" id="no-clusters">${fleet.total === 0 ? 'No clusters yet: apply a discovery (fleetview discovery apply -f FILE) and run fleetview start.' : 'No cluster matches the filters.'}</p>` : ''}
${pager}`;
  return page(frame, body);
}
