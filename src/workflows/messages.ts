/**
 * The cluster refresh workflow's messages. The wire names ('refresh', 'refreshNow', 'view',
 * 'nodes') are a contract with the CLI and with operators typing `temporal workflow signal`:
 * never rename them.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ClusterControls, ControlWindow, EffectiveSettings, SettingLayers } from '../domain/cluster-controls.js';
import type { ClusterView } from '../domain/cluster-view.js';
import type { DiscoveryNode, DiscoveryRecord, DiscoveryRecordSettings } from '../domain/discovery-record.js';
import type { ViewPageInfo, ViewPageRequest } from '../domain/view-page.js';

export const clusterRefreshWorkflowType = 'clusterRefresh';

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
  max_refreshes_per_run: 500,
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
  };

export type RefreshPhase = 'waiting' | 'fetching' | 'publishing' | 'saving' | 'retired';

export interface ViewQueryResult {
  /** The view with one page of its members and shards (see `page`). */
  view: ClusterView | null;
  /** Which members and shards `view` (and `publishing_view`) hold; null while there is no view. */
  page: ViewPageInfo | null;
  last_report: RefreshReport | null;
  /** The discovery record; of a record longer than the page, the page's share of its nodes. */
  record: DiscoveryRecord;
  /** Nodes the whole record lists. */
  record_nodes_total: number;
  settings: ClusterRefreshSettings;
  phase: RefreshPhase;
  /** Events computed by the refresh in progress and not yet acknowledged by Kafka. */
  events_pending: number;
  /** Generation of the view last written to the store (null: none yet). */
  stored_generation: number | null;
  /** Why the last store write failed, while the stored view is behind; null otherwise. */
  store_error: string | null;
  /** The highest generation whose events may have been published (also in the memo). */
  published_generation: number;
  /** The view of the refresh whose events are being published, until they are (same page); null otherwise. */
  publishing_view: ClusterView | null;
  /** The operator's controls and the settings in effect with where each came from (absent from runs before them). */
  controls?: ControlsState;
}

/** Settings, pause and maintenance of a cluster as its workflow holds them. */
export interface ControlsState {
  cluster_id: string;
  settings: EffectiveSettings;
  layers: SettingLayers;
  pause: ControlWindow | null;
  maintenance: ControlWindow | null;
  revision: number;
}

/** What an operator's update answers: the state after it. */
export interface ControlsResult extends ControlsState {
  /** False when the request changed nothing (the same value, resume of a cluster not paused). */
  changed: boolean;
  /**
   * False when the audit events or the store did not take the change within the update's wait:
   * it is in effect, and is recorded when they answer.
   */
  recorded: boolean;
}

/**
 * Memo key of `published_generation`. A cluster workflow started after its predecessor was
 * terminated reads it from the predecessor's memo and numbers its refreshes above it.
 */
export const publishedGenerationMemo = 'published_generation';

/** Force a refresh, fire-and-forget. Several before the refresh starts make one refresh. */
export const refreshSignal = defineSignal('refresh');
/** The same signal naming who asks: CLUSTER_REFRESH_REQUESTED goes out with the actor. */
export const refreshBySignal = defineSignal<[ActorInput]>('refresh');
/** A new discovery record: the cluster's full expected membership. */
export const nodesSignal = defineSignal<[DiscoveryRecordInput]>('nodes');
/**
 * Discovery no longer lists the cluster (past the grace period; discovery has emitted
 * CLUSTER_RETIRED): finish the refresh under way, then complete.
 */
export const retireSignal = defineSignal<[{ reason: string }]>('retire');
/** Force a refresh and return its report. */
export const refreshNowUpdate = defineUpdate<RefreshReport>('refreshNow');
/** The same update naming who asks: CLUSTER_REFRESH_REQUESTED goes out with the actor. */
export const refreshNowByUpdate = defineUpdate<RefreshReport, [ActorInput]>('refreshNow');

/** Who asks, as operators' tools send it. */
export interface ActorInput {
  actor?: { user: string; identity?: string | null };
}

/**
 * The operator's settings of this cluster: `set` values, `unset` names (back to the discovery's
 * or the default). Validated before it is accepted; takes effect at the next refresh slot (a
 * shorter interval at once). Emits CLUSTER_SETTINGS_CHANGED.
 */
export const settingsUpdate = defineUpdate<ControlsResult, [{ set?: Record<string, number>; unset?: string[] } & ActorInput]>('settings');
/** The default layer (`fleetview settings apply`): the given defaults replace the ones the workflow started with. */
export const defaultsUpdate = defineUpdate<ControlsResult, [{ defaults: Record<string, number | null> } & ActorInput]>('defaults');
/** Stop polling (no agent calls) until `until`, for `for_s` seconds, or until resumed. Emits CLUSTER_PAUSED. */
export const pauseUpdate = defineUpdate<ControlsResult, [{ reason: string; until?: string | null; for_s?: number } & ActorInput]>('pause');
/** Poll again, at once. Emits CLUSTER_RESUMED (a pause that expires emits it too, with no actor). */
export const resumeUpdate = defineUpdate<ControlsResult, [ActorInput]>('resume');
/**
 * A maintenance window: polling goes on, every event of the cluster is marked until it ends by
 * itself (`until` or `for_s`), or `{end: true}` ends it now. Emits CLUSTER_MAINTENANCE_STARTED/ENDED.
 */
export const maintenanceUpdate = defineUpdate<ControlsResult, [{ reason?: string; until?: string | null; for_s?: number; end?: boolean } & ActorInput]>('maintenance');
/**
 * The current view (a page of its members and shards: no argument gives the first page), the
 * last report, the record and what the workflow is doing.
 */
export const viewQuery = defineQuery<ViewQueryResult, [ViewPageRequest?]>('view');
/**
 * The whole view a successor resumes from: the one being published, else the last one. Large
 * answers travel through the store (External Storage), so read it with fleetview's data converter.
 */
export const resumeViewQuery = defineQuery<ClusterView | null>('resumeView');
