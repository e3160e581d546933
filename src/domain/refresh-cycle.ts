/**
 * One cluster refresh's state and decisions, as plain data and pure functions: what the cluster
 * refresh workflow carries through continue-as-new, what it reports, and what a refresh writes to
 * the store. The workflow (src/workflows/cluster-refresh.ts) keeps the handlers, the activities
 * and the loop; it asks these functions what to do, so they are unit-tested without Temporal.
 */
import type { ClusterControls, SettingValues } from './cluster-controls.js';
import type { ClusterView } from './cluster-view.js';
import type { DiscoveryNode, DiscoveryRecord, DiscoveryRecordSettings } from './discovery-record.js';
import type { FleetEvent } from './event-catalogue.js';
import { sameMaterialView } from './material-view.js';
import type { NodeObservation } from './observation.js';
import { clusterOffset } from './refresh-slots.js';

/** The discovery record as operators and discovery send it: nodes as URL strings or objects. */
export interface DiscoveryRecordInput {
  cluster_id: string;
  display_name?: string | null;
  nodes: Array<string | DiscoveryNode>;
  /** The discovery's settings for this cluster (its layer of the cluster's settings). */
  settings?: DiscoveryRecordSettings;
}

/** Per-cluster settings; every one optional, with the defaults in clusterRefreshDefaults. */
export interface ClusterRefreshSettings {
  /** Seconds between scheduled refreshes. */
  refresh_interval_s: number;
  /** Budget of each agent call; null: the worker's configured default. */
  agent_timeout_ms: number | null;
  /** How long a node may be missing from discovery before NODE_RETIRED. */
  node_retire_grace_s: number;
  /** Continue-as-new after this many refreshes even if the server does not suggest it. */
  max_refreshes_per_run: number;
  /**
   * The store is written when the view changes; an unchanged view is written again after this
   * many seconds, so the stored refresh time and measurements (offsets, lag) stay that fresh.
   */
  store_touch_s: number;
  /**
   * How long the cluster may be missing from discovery before CLUSTER_RETIRED (discovery applies
   * it; the workflow shows it and keeps the operator's override). Null: two discovery intervals.
   */
  cluster_retire_grace_s: number | null;
}

export const clusterRefreshDefaults: ClusterRefreshSettings = {
  refresh_interval_s: 15,
  agent_timeout_ms: null,
  // Two ticks of the default discovery schedule (events.md: two discovery intervals).
  node_retire_grace_s: 30,
  // The SDK's core keeps every state machine of a run, with its local activities' arguments,
  // until the run ends: a cached workflow grows ~10-16 KB per refresh. 20 held a 200 × 3 fleet
  // at 3 s flat at ~660 MB where 500 grew past 950 MB; 10 held no less and cost 12% more CPU
  // than 20 (docs/scaling.md). Large clusters run longer (refreshesForRun).
  max_refreshes_per_run: 20,
  store_touch_s: 300,
  cluster_retire_grace_s: null,
};

/** What one refresh did: returned by refreshNow, kept for the view query. */
export interface RefreshReport {
  generation: number;
  started_at: string;
  duration_ms: number;
  nodes_fetched: number;
  nodes_down: number;
  events_emitted: number;
  status: ClusterView['status'];
  /** What the refresh did to the store: wrote the view, had nothing to write, or could not. */
  store: 'written' | 'unchanged' | 'failed';
}

/** State carried across continue-as-new: plain JSON only. */
export interface CarriedState {
  view: ClusterView | null;
  last_report: RefreshReport | null;
  refresh_pending: boolean;
  /**
   * The view last written to the store, when it is not `view` itself (absent: it is `view`;
   * null: nothing stored). Kept so later writes carry only what changed since.
   */
  stored_view?: ClusterView | null;
  /** The last slot refreshed at (epoch ms). */
  last_slot_at_ms?: number | null;
  /** The operator's controls (absent in runs before them). */
  controls?: ClusterControls;
  /** True when the store has not taken the controls yet: the new run writes them again. */
  controls_owed?: boolean;
}

/** The workflow's input: the discovery record plus optional settings. */
export type ClusterRefreshInput = DiscoveryRecordInput &
  Partial<ClusterRefreshSettings> & {
    /** Set by the workflow itself when it continues as new; never by operators. */
    carried?: CarriedState;
    /**
     * Set by discovery when Temporal started this run under the reuse policy REJECT_DUPLICATE:
     * no earlier run of the workflow ID existed (within the namespace's retention), so there is
     * no predecessor whose published generations the new run must number above.
     */
    no_earlier_run?: boolean;
  };

export type RefreshPhase = 'waiting' | 'fetching' | 'publishing' | 'saving' | 'retired';


/**
 * What a refresh sends the store: nothing (the stored view is materially the same and fresh
 * enough), the view (what changed since the stored one), or a touch (the summary only: nothing
 * material changed, but the stored refresh time is `store_touch_s` old).
 */
export type StoreWrite = 'none' | 'view' | 'touch';

export function planStoreWrite(storedView: ClusterView | null, next: ClusterView, storeTouchS: number): StoreWrite {
  if (storedView === null) return 'view';
  const touchDue = Date.parse(next.refreshed_at) - Date.parse(storedView.refreshed_at) >= storeTouchS * 1000;
  if (!sameMaterialView(storedView, next)) return 'view';
  return touchDue ? 'touch' : 'none';
}

/** The summary a touch writes: the view without its members and shards (a large cluster's stay here). */
export function touchSummary(view: ClusterView): ClusterView {
  return { ...view, members: [], shards: [] };
}

/** The refresh's view numbered above every generation a predecessor may have published (their ids are taken). */
export function aboveGenerationFloor(view: ClusterView, generationFloor: number): ClusterView {
  return view.generation > generationFloor ? view : { ...view, generation: generationFloor + 1 };
}

export function refreshReport(refresh: {
  view: ClusterView;
  started_ms: number;
  finished_ms: number;
  observations: readonly NodeObservation[];
  events: readonly FleetEvent[];
  store: RefreshReport['store'];
}): RefreshReport {
  return {
    generation: refresh.view.generation,
    started_at: new Date(refresh.started_ms).toISOString(),
    duration_ms: refresh.finished_ms - refresh.started_ms,
    nodes_fetched: refresh.observations.length,
    nodes_down: refresh.observations.filter((o) => o.status.code !== 'UP').length,
    events_emitted: refresh.events.length,
    status: refresh.view.status,
    store: refresh.store,
  };
}

/** What a run hands its successor at continue-as-new. */
export interface RunHandover {
  record: DiscoveryRecord;
  /** The settings the run was started with. */
  start_settings: ClusterRefreshSettings;
  /** The default layer as it stands now: a `defaults` update lives on. */
  defaults: SettingValues;
  view: ClusterView | null;
  /** The view last written to the store: the very object `view` when that is the one written. */
  stored_view: ClusterView | null;
  last_report: RefreshReport | null;
  /** Null for runs before the slot clock: they carry none. */
  last_slot_at_ms: number | null | undefined;
  /** Null for runs before operator controls: they carry the input they always did. */
  controls: { controls: ClusterControls; owed: boolean } | null;
}

/**
 * The default of max_refreshes_per_run before it was cut to 20: runs started with it take
 * today's default at their next continue-as-new (set explicitly, 500 is taken the same way).
 */
export const formerDefaultRefreshesPerRun = 500;

/**
 * A cluster of at least this many nodes plus shards is large: each new run of it begins
 * with one full observation (the run holds the base of the observation deltas), which at 500 ×
 * 20 cost 9% more CPU over 24 refreshes with one new run among them. Its runs are
 * `largeClusterRunFactor` times longer: few such clusters share a worker, so their memory per
 * refresh matters less than the full observations.
 */
export const largeClusterEntries = 2_000;
export const largeClusterRunFactor = 25;

/**
 * Refreshes of a run before it continues as new: max_refreshes_per_run, times
 * `largeClusterRunFactor` for a large cluster (`entries`: its view's nodes plus shards).
 * A new workflow's first run is cut short by a stable per-cluster share of that (1 to all of
 * it), so clusters onboarded together do not continue as new together ever after: each run's end
 * is a workflow task more for Temporal and a new run for the worker.
 */
export function refreshesForRun(run: { cluster_id: string; max_per_run: number; continued: boolean; entries: number }): number {
  const length = run.entries >= largeClusterEntries ? run.max_per_run * largeClusterRunFactor : run.max_per_run;
  return run.continued ? length : length - clusterOffset(run.cluster_id, length);
}

/** The settings a run hands on: its start settings, with the former per-run default brought up to date. */
function handedOnSettings(settings: ClusterRefreshSettings): ClusterRefreshSettings {
  if (settings.max_refreshes_per_run !== formerDefaultRefreshesPerRun) return settings;
  return { ...settings, max_refreshes_per_run: clusterRefreshDefaults.max_refreshes_per_run };
}

/** The successor run's input: plain JSON (no Map, Set or Date crosses continue-as-new). */
export function continuedInput(run: RunHandover): ClusterRefreshInput {
  const startSettings = handedOnSettings(run.start_settings);
  const carried: CarriedState = {
    view: run.view,
    last_report: run.last_report,
    refresh_pending: false,
    ...(run.stored_view === run.view ? {} : { stored_view: run.stored_view }),
    ...(run.last_slot_at_ms === undefined ? {} : { last_slot_at_ms: run.last_slot_at_ms }),
  };
  if (run.controls === null) {
    const { cluster_retire_grace_s: _absent, ...settingsBeforeControls } = startSettings;
    const { record } = run;
    return { cluster_id: record.cluster_id, display_name: record.display_name, nodes: record.nodes, ...settingsBeforeControls, carried };
  }
  return {
    ...run.record,
    ...startSettings,
    refresh_interval_s: run.defaults.refresh_interval_s ?? startSettings.refresh_interval_s,
    agent_timeout_ms: run.defaults.agent_timeout_ms ?? null,
    node_retire_grace_s: run.defaults.node_retire_grace_s ?? startSettings.node_retire_grace_s,
    cluster_retire_grace_s: run.defaults.cluster_retire_grace_s ?? null,
    carried: { ...carried, controls: run.controls.controls, ...(run.controls.owed ? { controls_owed: true } : {}) },
  };
}

/** The default layer from a run's flat start settings (the worker's configuration, or the predecessor's defaults). */
export function defaultLayerOf(settings: ClusterRefreshSettings): SettingValues {
  return {
    refresh_interval_s: settings.refresh_interval_s,
    node_retire_grace_s: settings.node_retire_grace_s,
    ...(settings.agent_timeout_ms === null ? {} : { agent_timeout_ms: settings.agent_timeout_ms }),
    ...(settings.cluster_retire_grace_s === null ? {} : { cluster_retire_grace_s: settings.cluster_retire_grace_s }),
  };
}

/** The workflow's current details (Web UI) between refreshes: the view's summary, the last refresh, the next slot. */
export function describeRefresh(view: ClusterView, report: RefreshReport, nextAtMs: number | null): string {
  const name = view.display_name ? `${view.cluster_id} (${view.display_name})` : view.cluster_id;
  return [
    `**${name}**: ${view.status}`,
    `nodes: ${view.nodes} · agents down: ${view.agents_down} · nodes down: ${view.nodes_down} · shards with a primary: ${view.shards_primaries}/${view.shards_count}`,
    `generation ${view.generation} at ${view.refreshed_at} took ${report.duration_ms} ms, ${report.events_emitted} events, store ${report.store}`,
    nextAtMs === null ? '' : `next scheduled refresh at ${new Date(nextAtMs).toISOString()}`,
  ]
    .filter(Boolean)
    .join('\n\n');
}

/**
 * Where a run's refresh cycle stands: its views, its last report and how far publishing and the
 * store got. Plain JSON; the workflow owns the one instance and the view query reads it.
 */
export interface RefreshCycleState {
  /** The last refresh's view (null: none yet). */
  view: ClusterView | null;
  last_report: RefreshReport | null;
  /**
   * The view last written to the store: the next write carries only what changed since, and a
   * refresh whose view is materially the same writes nothing. Lags `view` while the store fails.
   */
  stored_view: ClusterView | null;
  /** Why the last store write failed, while `stored_view` lags; null otherwise. */
  store_error: string | null;
  /**
   * The highest generation whose events may be out. A successor started after this run is
   * terminated reads it from the memo and resumes above it, so an event id never names two
   * different events.
   */
  published_generation: number;
  /** Every generation up to here was taken by a predecessor: this run numbers above it. */
  generation_floor: number;
  /** The view of the refresh whose events are going out, until they are out. */
  publishing_view: ClusterView | null;
  phase: RefreshPhase;
  /** Events of the refresh in progress not yet acknowledged by Kafka. */
  events_pending: number;
  /** True while a refresh is under way. */
  refreshing: boolean;
}

/** A run's cycle at start: its predecessor's when it continues as new, else empty until the resume point is read. */
export function startingCycle(carried: CarriedState | undefined): RefreshCycleState {
  const view = carried?.view ?? null;
  return {
    view,
    last_report: carried?.last_report ?? null,
    stored_view: carried ? (carried.stored_view === undefined ? view : carried.stored_view) : null,
    store_error: null,
    published_generation: view?.generation ?? 0,
    generation_floor: 0,
    publishing_view: null,
    phase: 'waiting',
    events_pending: 0,
    refreshing: false,
  };
}
