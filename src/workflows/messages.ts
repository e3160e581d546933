/**
 * The cluster refresh workflow's messages. The wire names ('refresh', 'refreshNow', 'view',
 * 'nodes') are a contract with the CLI and with operators typing `temporal workflow signal`:
 * never rename them. So are the search attributes' names, which operators type in queries.
 */
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ControlWindow, EffectiveSettings, SettingLayers } from '../domain/cluster-controls.js';
import type { ClusterView } from '../domain/cluster-view.js';
import type { DiscoveryRecord } from '../domain/discovery-record.js';
import type { ClusterRefreshInput, ClusterRefreshSettings, DiscoveryRecordInput, RefreshPhase, RefreshReport } from '../domain/refresh-cycle.js';
import type { ViewPageInfo, ViewPageRequest } from '../domain/view-page.js';

export const clusterRefreshWorkflowType = 'clusterRefresh';

// The workflow's input, report and carried state are plain data of the refresh cycle (domain).
export { clusterRefreshDefaults } from '../domain/refresh-cycle.js';
export type { CarriedState, ClusterRefreshInput, ClusterRefreshSettings, DiscoveryRecordInput, RefreshPhase, RefreshReport } from '../domain/refresh-cycle.js';

/** What a cluster's workflow returns when discovery retires the cluster. */
export interface ClusterRefreshResult {
  retired: { reason: string; at: string };
  last_generation: number;
}

/** The workflow's signature, for clients that start it by its type name (no import of the workflow itself). */
export type ClusterRefreshWorkflow = (input: ClusterRefreshInput) => Promise<ClusterRefreshResult>;

/** Set at start (by discovery's signal-with-start) and by the workflow: `ClusterId="..."` finds a cluster's runs. */
export const clusterIdSearchAttribute = defineSearchAttributeKey('ClusterId', SearchAttributeType.KEYWORD);
/** `FleetviewPaused=true` / `FleetviewMaintenance=true` find them in the Web UI and `temporal workflow list`. */
export const pausedSearchAttribute = defineSearchAttributeKey('FleetviewPaused', SearchAttributeType.BOOL);
export const maintenanceSearchAttribute = defineSearchAttributeKey('FleetviewMaintenance', SearchAttributeType.BOOL);
/** Every custom search attribute the workflows set: the namespace must have them (`fleetview start` adds them). */
export const customSearchAttributes = [clusterIdSearchAttribute, pausedSearchAttribute, maintenanceSearchAttribute] as const;

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

/**
 * Workflow task timeout of every cluster workflow run (set at start and at continue-as-new, so
 * runs started without it, by an operator's `temporal workflow start`, get it at their next run).
 * A refresh runs its observation and commit as local activities inside one workflow task; when
 * the worker running it dies, that task is retried elsewhere only after this timeout, so the
 * takeover of a cluster caught mid-refresh takes one interval plus this (the server's default,
 * 10 s, exceeded "interval + 10 s" by the replay). Longer local activities heartbeat the task
 * at 80% of it. Shorter would cut the takeover further, but a loaded worker's slow tasks would
 * time out sooner (each timeout costs a retry and a replay).
 */
export const clusterWorkflowTaskTimeout = '8 seconds';

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
