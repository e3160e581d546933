/**
 * The fleet table, as pure functions: one row per cluster from what the store holds (the
 * cluster document's summary and the discovery document), then filtered, sorted (the worst
 * first by default) and cut to a page. No I/O: src/adapters/fleet-reads.ts gathers the inputs.
 */
import type { ControlFacts, DiscoveryFacts } from '../adapters/fleet-reads.js';
import type { ClusterSummary } from '../adapters/store-documents.js';
import { compareStrings } from '../domain/canonical-forms.js';
import { windowActive, type ControlWindow } from '../domain/cluster-controls.js';

/** A cluster's status on the fleet page, worst first: the order of the default sort. */
export const fleetStatuses = ['UNAVAILABLE', 'DEGRADED', 'NEW', 'HEALTHY', 'RETIRED'] as const;
export type FleetStatus = (typeof fleetStatuses)[number];

export interface FleetRow {
  cluster_id: string;
  display_name: string | null;
  status: FleetStatus;
  /** Not listed by any discovery any more: inside its grace period (retired after it). */
  unlisted: boolean;
  /** null before the first stored refresh. */
  nodes_total: number | null;
  nodes_up: number | null;
  agents_down: number | null;
  nodes_down: number | null;
  shards_total: number | null;
  shards_without_primary: number | null;
  kinds: string[];
  /** The refresh of the stored summary (written on change, else every store_touch_s). */
  refreshed_at: string | null;
  generation: number | null;
  discovery: string | null;
  held_by: string[];
  /** The operator's pause while it holds (an ended one is null, before its workflow clears it). */
  pause: ControlWindow | null;
  /** The maintenance window while it holds. */
  maintenance: ControlWindow | null;
}

/**
 * One row per cluster known to either collection, with its pause and maintenance windows that
 * hold at `nowMs` (windows of clusters known to neither are left out).
 */
export function fleetRows(summaries: readonly ClusterSummary[], discoveries: readonly DiscoveryFacts[], controls: readonly ControlFacts[] = [], nowMs = Date.now()): FleetRow[] {
  const windows = new Map(controls.map((entry) => [entry.cluster_id, entry]));
  const byId = new Map<string, { summary: ClusterSummary | null; discovery: DiscoveryFacts | null }>();
  for (const discovery of discoveries) byId.set(discovery.cluster_id, { summary: null, discovery });
  for (const summary of summaries) byId.set(summary.cluster_id, { summary, discovery: byId.get(summary.cluster_id)?.discovery ?? null });
  const rows: FleetRow[] = [];
  for (const [clusterId, { summary, discovery }] of byId) {
    const status: FleetStatus = discovery?.retired_at ? 'RETIRED' : (summary?.status ?? 'NEW');
    const down = summary ? summary.agents_down + summary.nodes_down : 0;
    rows.push({
      cluster_id: clusterId,
      display_name: summary?.display_name ?? discovery?.display_name ?? null,
      status,
      unlisted: Boolean(discovery?.missing_since) && !discovery?.retired_at,
      nodes_total: summary?.nodes ?? null,
      nodes_up: summary ? Math.max(0, summary.nodes - down) : null,
      agents_down: summary?.agents_down ?? null,
      nodes_down: summary?.nodes_down ?? null,
      shards_total: summary?.shards_count ?? null,
      shards_without_primary: summary ? Math.max(0, summary.shards_count - summary.shards_primaries) : null,
      kinds: summary?.kinds ?? [],
      refreshed_at: summary?.refreshed_at ?? null,
      generation: summary?.generation ?? null,
      discovery: discovery?.discovery ?? null,
      held_by: discovery?.held_by ?? [],
      pause: activeWindow(windows.get(clusterId)?.pause ?? null, nowMs),
      maintenance: activeWindow(windows.get(clusterId)?.maintenance ?? null, nowMs),
    });
  }
  return rows;
}

function activeWindow(window: ControlWindow | null, nowMs: number): ControlWindow | null {
  return windowActive(window, nowMs) ? window : null;
}

/** The operator controls the fleet page filters on: paused clusters, clusters in maintenance. */
export const fleetControlFilters = ['paused', 'maintenance'] as const;
export type FleetControlFilter = (typeof fleetControlFilters)[number];

export const fleetSortKeys = ['status', 'cluster', 'nodes', 'agents_down', 'nodes_down', 'shards_without_primary', 'refreshed', 'discovery'] as const;
export type FleetSortKey = (typeof fleetSortKeys)[number];
export type SortDirection = 'asc' | 'desc';

export interface FleetQuery {
  /** Only these statuses (empty: all). */
  status: FleetStatus[];
  /** Only clusters with this datastore kind. */
  kind: string | null;
  /** Only clusters whose id, display name or discovery contains this (case-insensitive). */
  q: string | null;
  /** Only paused clusters, or only those in maintenance (null: all). */
  control: FleetControlFilter | null;
  sort: FleetSortKey;
  dir: SortDirection;
  offset: number;
  limit: number;
}

export const defaultFleetLimit = 1000;
export const maxFleetLimit = 5000;

export const defaultFleetQuery: FleetQuery = { status: [], kind: null, q: null, control: null, sort: 'status', dir: 'asc', offset: 0, limit: defaultFleetLimit };

const statusRank = (status: FleetStatus) => fleetStatuses.indexOf(status);
const byId = (a: FleetRow, b: FleetRow) => compareStrings(a.cluster_id, b.cluster_id);
/** Unknown counts (never refreshed) sort after every known one in either direction's "most" end. */
const count = (value: number | null) => value ?? -1;

/**
 * The worst first: status (UNAVAILABLE, DEGRADED, NEW, HEALTHY, RETIRED), then more nodes down,
 * more shards without a primary, unlisted before listed, then by id.
 */
function worstFirst(a: FleetRow, b: FleetRow): number {
  return (
    statusRank(a.status) - statusRank(b.status) ||
    count(b.agents_down) + count(b.nodes_down) - (count(a.agents_down) + count(a.nodes_down)) ||
    count(b.shards_without_primary) - count(a.shards_without_primary) ||
    Number(b.unlisted) - Number(a.unlisted) ||
    byId(a, b)
  );
}

/** Ascending order of each key; `status` ascending is the worst first, `refreshed` ascending the oldest first. */
const ascending: Record<FleetSortKey, (a: FleetRow, b: FleetRow) => number> = {
  status: worstFirst,
  cluster: byId,
  nodes: (a, b) => count(a.nodes_total) - count(b.nodes_total) || byId(a, b),
  agents_down: (a, b) => count(a.agents_down) - count(b.agents_down) || byId(a, b),
  nodes_down: (a, b) => count(a.nodes_down) - count(b.nodes_down) || byId(a, b),
  shards_without_primary: (a, b) => count(a.shards_without_primary) - count(b.shards_without_primary) || byId(a, b),
  // Never refreshed counts as the oldest.
  refreshed: (a, b) => compareStrings(a.refreshed_at ?? '', b.refreshed_at ?? '') || byId(a, b),
  discovery: (a, b) => compareStrings(a.discovery ?? '', b.discovery ?? '') || byId(a, b),
};

export function sortRows(rows: readonly FleetRow[], sort: FleetSortKey, dir: SortDirection): FleetRow[] {
  const compare = ascending[sort];
  return [...rows].sort(dir === 'asc' ? compare : (a, b) => compare(b, a));
}

export function matchesQuery(row: FleetRow, query: Pick<FleetQuery, 'status' | 'kind' | 'q'> & Partial<Pick<FleetQuery, 'control'>>): boolean {
  if (query.status.length > 0 && !query.status.includes(row.status)) return false;
  if (query.control === 'paused' && row.pause === null) return false;
  if (query.control === 'maintenance' && row.maintenance === null) return false;
  if (query.kind !== null && !row.kinds.includes(query.kind)) return false;
  if (query.q !== null) {
    const needle = query.q.toLowerCase();
    const haystack = [row.cluster_id, row.display_name ?? '', row.discovery ?? ''];
    if (!haystack.some((text) => text.toLowerCase().includes(needle))) return false;
  }
  return true;
}

export interface FleetPage {
  rows: FleetRow[];
  /** Clusters known in all. */
  total: number;
  /** Clusters the filters let through (the page is a part of them). */
  matched: number;
  /** Clusters per status over the whole fleet, for the status links. */
  counts: Record<FleetStatus, number>;
  /** Clusters paused, and in maintenance, over the whole fleet. */
  controlCounts: Record<FleetControlFilter, number>;
  /** Every datastore kind seen, sorted: the kind filter's choices. */
  kinds: string[];
}

export function fleetPage(rows: readonly FleetRow[], query: FleetQuery): FleetPage {
  const counts = Object.fromEntries(fleetStatuses.map((status) => [status, 0])) as Record<FleetStatus, number>;
  const kinds = new Set<string>();
  const controlCounts: Record<FleetControlFilter, number> = { paused: 0, maintenance: 0 };
  for (const row of rows) {
    counts[row.status]++;
    if (row.pause) controlCounts.paused++;
    if (row.maintenance) controlCounts.maintenance++;
    for (const kind of row.kinds) kinds.add(kind);
  }
  const matched = sortRows(
    rows.filter((row) => matchesQuery(row, query)),
    query.sort,
    query.dir,
  );
  return {
    rows: matched.slice(query.offset, query.offset + query.limit),
    total: rows.length,
    matched: matched.length,
    counts,
    controlCounts,
    kinds: [...kinds].sort(),
  };
}
