/**
 * One cluster's refresher. Its workflow ID `cluster/<cluster_id>` is the lock: Temporal runs at
 * most one execution per ID, and inside it refreshes are strictly serial.
 *
 * Loop: wait for the next refresh slot (a durable timer with a stable per-cluster phase), a
 * force refresh, or a new node list; fetch every node in one local activity; aggregate and diff
 * in workflow code; publish the events and hand the changed view to the store in a second local
 * activity (only when there are events or something to store); keep a report. Continue-as-new
 * when the server suggests it or after max_refreshes_per_run, carrying the view as plain JSON so
 * the generation keeps growing.
 *
 * Cost: a quiet refresh is one workflow task and six history events (timer fired, task
 * scheduled/started/completed, the observation marker, the next timer); one with events adds the
 * memo, a second task behind a 1 ms timer (the observation is durable before anything is
 * published) and the commit marker: 13 events. Local activities, not one activity per node: the
 * refresh loop runs at fleet size, every interval, forever (../shared/design/ARCHITECTURE.md,
 * "The cost of one refresh").
 *
 * The store never holds a refresh up: the commit waits for it a bounded time, and a view it did
 * not take stays owed (`storedView` lags) and is sent again with the next refresh. Kafka is
 * different: events are published before anything else happens, and while Kafka is down the
 * workflow holds them in a durable activity retried until they are out (order per cluster).
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  log,
  makeContinueAsNewFunc,
  metricMeter,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import { SearchAttributeType, defineSearchAttributeKey, type UpdateDefinition } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import { aggregate } from '../domain/aggregate.js';
import {
  ControlRequestError,
  changedSettings,
  effectiveSettings,
  msUntilWindowEnds,
  noControls,
  parseActorRequest,
  parseDefaultsRequest,
  parseMaintenanceRequest,
  parsePauseRequest,
  parseSettingsRequest,
  windowActive,
  type Actor,
  type ClusterControls,
  type ControlWindow,
  type SettingValues,
} from '../domain/cluster-controls.js';
import type { ClusterView } from '../domain/cluster-view.js';
import { sameDiscoveryRecord } from '../domain/discovery-events.js';
import type { DiscoveryRecord } from '../domain/discovery-record.js';
import { diff } from '../domain/diff.js';
import { controlEventId, envelope, type ControlEventCode, type EventDraft, type EventPayloads, type FleetEvent } from '../domain/event-catalogue.js';
import { clusterWorkflowId } from '../domain/ids.js';
import { sameMaterialView } from '../domain/material-view.js';
import type { NodeObservation } from '../domain/observation.js';
import { applyObservationDelta } from '../domain/observation-delta.js';
import { msUntilNextSlot, refreshPhaseMs, slotClockAdvanceMs } from '../domain/refresh-slots.js';
import { pageBounds, viewPage, viewPageProblem } from '../domain/view-page.js';
import { InvalidInputError, parseClusterRefreshInput, parseDiscoveryRecord, refreshNowArgumentsProblem, retireReason } from './input.js';
import {
  clusterRefreshDefaults,
  defaultsUpdate,
  maintenanceUpdate,
  nodesSignal,
  pauseUpdate,
  refreshBySignal,
  refreshNowByUpdate,
  resumeUpdate,
  settingsUpdate,
  publishedGenerationMemo,
  resumeViewQuery,
  retireSignal,
  viewQuery,
  type ClusterRefreshInput,
  type ClusterRefreshSettings,
  type ControlsResult,
  type ControlsState,
  type RefreshPhase,
  type RefreshReport,
} from './messages.js';

export const clusterIdSearchAttribute = defineSearchAttributeKey('ClusterId', SearchAttributeType.KEYWORD);
/** `FleetviewPaused=true` / `FleetviewMaintenance=true` find them in the Web UI and `temporal workflow list`. */
export const pausedSearchAttribute = defineSearchAttributeKey('FleetviewPaused', SearchAttributeType.BOOL);
export const maintenanceSearchAttribute = defineSearchAttributeKey('FleetviewMaintenance', SearchAttributeType.BOOL);

/**
 * Events per durable publish activity (about 1.2 MB: its input goes to the store through External
 * Storage, history keeps a reference). A first refresh of 100,000 events is some 50 activities.
 */
const publishBatchSize = 2_000;

/** While Kafka is down the events are held here and retried until they are out. */
const durableRetry: ActivityOptions = {
  // Generous for one batch; short enough that work lost with a dead worker is retried soon.
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
};

const { publishEvents } = proxyActivities<Activities>(durableRetry);

/**
 * A new workflow reads where to resume once: the stored view, and the generation its
 * predecessor may have published (the cluster's documents and a visibility list; local, no extra
 * task). Rebuilding a 2,000 × 50 view from its 106,000 documents took 10 to 26 s on 2 cores.
 */
const resumeOptions: LocalActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' },
};
const { loadResumePoint } = proxyLocalActivities<Activities>(resumeOptions);

/**
 * A slot timer is computed from workflow time, which stands at the start of the task or the end
 * of its last local activity, but starts when the task completes. After a large cluster's
 * refresh, aggregating and diffing its view in the task takes up to seconds (1 to 2.5 s at
 * 2,000 × 50): the timer would fire that late. So a refresh of at least this many nodes and
 * shards reads the worker's clock (a local activity, recorded: replay gives the same timer) and
 * times the slot from it; below it the work takes milliseconds, less than the read costs.
 */
const slotClockThreshold = 2_000;
const { readClock } = proxyLocalActivities<Activities>({ startToCloseTimeout: '5 seconds', retry: { maximumAttempts: 2 } });

/**
 * Runs started before the resume point and the durable observation replay their recorded
 * commands through these patches; new runs take the new paths. Deprecate them once no run
 * started before them is left (every run continues as new within max_refreshes_per_run).
 */
const resumePointPatch = 'resume-point';
const durableObservationPatch = 'durable-observation';
const observationDeltaPatch = 'observation-delta';
const slotClockPatch = 'slot-clock';
const controlsPatch = 'cluster-controls';

/**
 * An operator's change is recorded (audit events out, controls stored) before its update
 * answers, up to this long; past it the update answers `recorded: false` and recording goes on.
 */
const recordWaitMs = 30_000;
const { recordControls } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  scheduleToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});
const { loadStoredView } = proxyLocalActivities<{ loadStoredView(clusterId: string): Promise<ClusterView | null> }>(resumeOptions);

/**
 * The commit of a refresh: publish, then store with a bounded wait. A Kafka hiccup is retried
 * here, locally; one that outlasts this budget moves to the durable publish above.
 */
const { commitRefresh } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '45 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

/**
 * Nodes a worker observes at once for one cluster, at the least (FLEETVIEW_AGENT_MAX_CONCURRENT_*
 * may allow more; the workflow cannot read the worker's settings, so it assumes this floor).
 */
const observeLanesFloor = 16;

function observeOptions(nodes: number, timeoutMs: number | null): LocalActivityOptions {
  // A node is three agent calls, two of them concurrent: two budgets. Each lane takes its share
  // of the nodes one after the other, and a full worker may first make the refresh wait for a
  // slot (one more node's time). The default budget (the worker's config) is not known here, so
  // assume the largest a cluster may set. Only a cluster whose agents all hang comes near this.
  const nodeMs = 2 * (timeoutMs ?? 15_000);
  return {
    summary: `observe ${nodes} node${nodes === 1 ? '' : 's'}`,
    startToCloseTimeout: (Math.ceil(nodes / observeLanesFloor) + 1) * nodeMs + 5_000,
    retry: { maximumAttempts: 2, initialInterval: '1 second' },
  };
}

function unreachable(address: string, reason: string): NodeObservation {
  return { address, status: { code: 'AGENT_DOWN', reason }, agent: null, datastore: null, shards: null, shards_error: null };
}

function describeView(view: ClusterView, report: RefreshReport, nextAtMs: number | null): string {
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

export interface ClusterRefreshResult {
  retired: { reason: string; at: string };
  last_generation: number;
}

export async function clusterRefresh(input: ClusterRefreshInput): Promise<ClusterRefreshResult> {
  // Input first (pure, synchronous), then handlers, then everything else: messages buffered
  // for this workflow are delivered the moment their handler is registered, and must find a
  // parsed record. A bad input fails the workflow only after the handlers exist.
  let parsed: ReturnType<typeof parseClusterRefreshInput> | { problems: string[] };
  try {
    parsed = parseClusterRefreshInput(input);
  } catch (err) {
    parsed = { problems: err instanceof InvalidInputError ? err.problems : [String(err)] };
  }
  // Runs before operator controls never took the discovery's settings from a record: their
  // replay must not either. Asked before any handler can run (see the other patches below).
  const usesControls = patched(controlsPatch);
  const ownRecord = (next: DiscoveryRecord): DiscoveryRecord => {
    if (usesControls || next.settings === undefined) return next;
    const { settings: _ignored, ...membership } = next;
    return membership;
  };
  let record: DiscoveryRecord = 'record' in parsed ? ownRecord(parsed.record) : { cluster_id: '', display_name: null, nodes: [] };
  let view: ClusterView | null = input?.carried?.view ?? null;
  let lastReport: RefreshReport | null = input?.carried?.last_report ?? null;
  let refreshRequested = input?.carried?.refresh_pending ?? false;
  let recordChanged = false;
  let refreshing = false;
  let phase: RefreshPhase = 'waiting';
  let eventsPending = 0;
  let retirement: { reason: string; at: string } | null = null;
  // The view last written to the store: the next write carries only what changed since, and a
  // refresh whose view is materially the same writes nothing.
  let storedView: ClusterView | null = input?.carried ? (input.carried.stored_view === undefined ? view : input.carried.stored_view) : null;
  let storeError: string | null = null;
  // The highest generation whose events may be out. A successor started after this run is
  // terminated reads it from the memo and resumes above it, so an event id never names two
  // different events. A new run also takes its predecessor's (generationFloor).
  let publishedGeneration = view?.generation ?? 0;
  let generationFloor = 0;
  // The view of the refresh whose events are going out, until they are out.
  let publishingView: ClusterView | null = null;

  // The operator's controls, and the default layer of the settings (the input's flat settings:
  // the worker's configuration at start, or the last `defaults` update).
  const startSettings = 'settings' in parsed ? parsed.settings : clusterRefreshDefaults;
  let controls: ClusterControls = input?.carried?.controls ?? noControls;
  let controlsOwed = input?.carried?.controls_owed ?? false;
  let defaultLayer: SettingValues = {
    refresh_interval_s: startSettings.refresh_interval_s,
    node_retire_grace_s: startSettings.node_retire_grace_s,
    ...(startSettings.agent_timeout_ms === null ? {} : { agent_timeout_ms: startSettings.agent_timeout_ms }),
    ...(startSettings.cluster_retire_grace_s === null ? {} : { cluster_retire_grace_s: startSettings.cluster_retire_grace_s }),
  };
  // Bumped by every change of controls or settings: wakes the loop to time its next slot anew.
  let controlsVersion = 0;
  // A new run reads the stored controls with its resume point; changes wait for them, so their
  // revision (and their events' ids) goes on from the stored one.
  let controlsLoaded = input?.carried !== undefined;

  const completedGeneration = () => view?.generation ?? 0;
  const layers = () => ({ default: defaultLayer, discovery: { ...(record.settings ?? {}) }, operator: controls.operator });
  const effective = () => effectiveSettings(layers());
  const intervalS = () => effective().refresh_interval_s.value ?? startSettings.refresh_interval_s;
  const agentTimeoutMs = () => effective().agent_timeout_ms.value;
  const nodeGraceS = () => effective().node_retire_grace_s.value ?? startSettings.node_retire_grace_s;
  const nowIso = () => new Date(Date.now()).toISOString();
  const paused = () => usesControls && windowActive(controls.pause, Date.now());

  function controlsState(): ControlsState {
    return { cluster_id: record.cluster_id, settings: effective(), layers: layers(), pause: controls.pause, maintenance: controls.maintenance, revision: controls.revision };
  }

  /** An audit event of this cluster, numbered by the controls' revision. */
  function controlEvent<C extends ControlEventCode>(code: C, payload: EventPayloads[C]): FleetEvent {
    controls = { ...controls, revision: controls.revision + 1 };
    const event = envelope({ event: code, node_id: null, payload } as EventDraft, {
      id: controlEventId(record.cluster_id, controls.revision, code),
      cluster_id: record.cluster_id,
      generation: completedGeneration(),
      timestamp: nowIso(),
    });
    return withMaintenanceMark([event], Date.now())[0]!;
  }

  function withMaintenanceMark(events: FleetEvent[], atMs: number): FleetEvent[] {
    const window = controls.maintenance;
    if (!usesControls || !windowActive(window, atMs) || window.until === null) return events;
    const mark = { until: window.until, reason: window.reason };
    return events.map((event) => ({ ...event, maintenance: mark }));
  }

  // Recording is serial (the audit events of one cluster go out in order) and survives the
  // update that started it: continue-as-new and completion wait for it.
  let recording: Promise<void> = Promise.resolve();
  let recordingsInFlight = 0;
  function recordChange(events: FleetEvent[]): Promise<void> {
    const snapshot: ClusterControls = { ...controls };
    recordingsInFlight += 1;
    const step = recording.then(async () => {
      try {
        const result = await recordControls({ cluster_id: record.cluster_id, controls: snapshot, events });
        controlsOwed = !result.stored;
        if (!result.stored) log.warn('the store did not take the controls; they are written again later', { cluster_id: record.cluster_id, error: result.store_error });
      } catch (err) {
        // Kafka has been failing for longer than the local budget: hold the events durably.
        log.warn('audit events are retried until Kafka takes them', { cluster_id: record.cluster_id, error: (err as Error).message });
        for (let start = 0; start < events.length; start += publishBatchSize) await publishEvents(events.slice(start, start + publishBatchSize));
        controlsOwed = true;
      } finally {
        recordingsInFlight -= 1;
      }
    });
    recording = step.catch(() => undefined);
    return step;
  }

  function syncSearchAttributes(): void {
    const info = workflowInfo().typedSearchAttributes;
    const pausedNow = windowActive(controls.pause, Date.now());
    const maintenanceNow = windowActive(controls.maintenance, Date.now());
    const updates = [];
    if ((info.get(pausedSearchAttribute) ?? false) !== pausedNow) updates.push({ key: pausedSearchAttribute, value: pausedNow });
    if ((info.get(maintenanceSearchAttribute) ?? false) !== maintenanceNow) updates.push({ key: maintenanceSearchAttribute, value: maintenanceNow });
    if (updates.length > 0) upsertSearchAttributes(updates);
  }

  /** Applies a change made by `change` (which returns its audit events), then records it, waiting a bounded time. */
  async function applyControl(change: () => FleetEvent[]): Promise<ControlsResult> {
    await condition(() => controlsLoaded);
    const events = change();
    if (events.length === 0) return { ...controlsState(), changed: false, recorded: !controlsOwed };
    controlsVersion += 1;
    syncSearchAttributes();
    let finished = false;
    void recordChange(events).then(() => (finished = true));
    const recorded = await condition(() => finished, recordWaitMs);
    return { ...controlsState(), changed: true, recorded: recorded && !controlsOwed };
  }

  /** Ends windows whose time has passed: their events go out with no actor. */
  function expireWindows(): void {
    if (!usesControls) return;
    const nowMs = Date.now();
    const events: FleetEvent[] = [];
    const pause = controls.pause;
    if (pause && !windowActive(pause, nowMs)) {
      controls = { ...controls, pause: null };
      events.push(controlEvent('CLUSTER_RESUMED', { window: pause, ended_by: null, why: 'expired' }));
    }
    const maintenance = controls.maintenance;
    if (maintenance && !windowActive(maintenance, nowMs)) {
      controls = { ...controls, maintenance: null };
      events.push(controlEvent('CLUSTER_MAINTENANCE_ENDED', { window: maintenance, ended_by: null, why: 'expired' }));
    }
    if (events.length === 0) return;
    controlsVersion += 1;
    syncSearchAttributes();
    void recordChange(events);
  }

  /** What a rejected operator request says: an ApplicationFailure the client shows as is. */
  function rejectRequest(err: unknown): never {
    if (err instanceof ControlRequestError) throw ApplicationFailure.nonRetryable(err.message, 'InvalidArgument', { problems: err.problems });
    throw err;
  }
  function checkControllable(): void {
    if (!usesControls) throw ApplicationFailure.nonRetryable('this run started before operator controls; it continues as new soon, try again then', 'NotYet');
    if (retirement) throw ApplicationFailure.nonRetryable(`the cluster was retired: ${retirement.reason}`, 'Retired');
  }
  const describeWindow = (window: ControlWindow) =>
    `since ${window.since}${window.until ? ` until ${window.until}` : ''} by ${window.actor.user}: ${window.reason}`;

  /** Records the events `make` builds once the stored controls are in (their revision numbers the events). */
  function recordWhenLoaded(make: () => FleetEvent[]): void {
    recordingsInFlight += 1;
    void condition(() => controlsLoaded).then(() => {
      recordingsInFlight -= 1;
      void recordChange(make());
    });
  }

  function requestRefreshBy(actor: Actor | null, wait: boolean): void {
    if (!usesControls || actor === null) return;
    recordWhenLoaded(() => [controlEvent('CLUSTER_REFRESH_REQUESTED', { actor, wait })]);
  }

  setHandler(refreshBySignal, (request?: unknown) => {
    refreshRequested = true;
    if (request === undefined || request === null) return;
    try {
      requestRefreshBy(parseActorRequest(request).actor, false);
    } catch (err) {
      log.warn('ignored the actor of a refresh signal', { cluster_id: record.cluster_id, error: (err as Error).message });
    }
  });

  setHandler(nodesSignal, (next) => {
    try {
      const nextRecord = ownRecord(parseDiscoveryRecord(next));
      if (nextRecord.cluster_id !== record.cluster_id) {
        log.warn('ignored a nodes signal for another cluster', { cluster_id: record.cluster_id, got: nextRecord.cluster_id });
        return;
      }
      // Discovery's signal-with-start sends the record the workflow was started with: the same
      // membership is no reason for a second refresh (at onboarding it would double the work).
      if (sameDiscoveryRecord(nextRecord, record)) return;
      const membershipChanged = !sameDiscoveryRecord({ ...nextRecord, settings: {} }, { ...record, settings: {} });
      const before = effective();
      record = nextRecord;
      // New settings from discovery alone time the next slot anew; new members are refreshed now.
      if (membershipChanged) recordChanged = true;
      const changes = changedSettings(before, effective());
      if (usesControls && changes.length > 0) {
        controlsVersion += 1;
        recordWhenLoaded(() => [controlEvent('CLUSTER_SETTINGS_CHANGED', { actor: { user: 'discovery', identity: null }, layer: 'discovery', changes })]);
      }
    } catch (err) {
      // A signal cannot be rejected; a bad one is logged (visible in the worker logs) and dropped.
      log.warn('ignored an invalid nodes signal', { cluster_id: record.cluster_id, error: (err as Error).message });
    }
  });

  setHandler(retireSignal, (request) => {
    retirement ??= { reason: retireReason(request), at: new Date(Date.now()).toISOString() };
  });

  setHandler(
    refreshNowByUpdate,
    async (request?: unknown) => {
      // A refresh under way started before this request: wait for the follow-up one.
      const target = completedGeneration() + (refreshing ? 2 : 1);
      refreshRequested = true;
      if (request !== undefined && request !== null && !(typeof request === 'object' && Object.keys(request).length === 0)) {
        requestRefreshBy(parseActorRequest(request).actor, true);
      }
      await condition(() => completedGeneration() >= target || retirement !== null);
      if (completedGeneration() < target || !lastReport) {
        throw ApplicationFailure.nonRetryable(`the cluster was retired before the refresh: ${retirement?.reason}`, 'Retired');
      }
      return lastReport;
    },
    {
      // An update may arrive with the first workflow task, before the input is parsed: only
      // arguments and a retired or paused cluster reject it (the handler waits for the refresh).
      validator: (...args: unknown[]) => {
        const problem = refreshNowArgumentsProblem(args);
        if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidArgument');
        if (retirement) throw new Error(`the cluster was retired: ${retirement.reason}`);
        if (paused() && controls.pause) {
          throw ApplicationFailure.nonRetryable(
            `cluster ${record.cluster_id} is paused ${describeWindow(controls.pause)}; resume it first (fleetview cluster resume ${record.cluster_id})`,
            'Paused',
          );
        }
      },
    },
  );

  /**
   * An operator's update: `parse` checks the request in the validator (a bad one is refused and
   * nothing is recorded) and again in the handler, where `apply` changes the controls and returns
   * the audit events (none: nothing changed).
   */
  function controlUpdate<Args extends [unknown], Request>(
    definition: UpdateDefinition<ControlsResult, Args>,
    parse: (raw: unknown) => Request,
    apply: (request: Request) => FleetEvent[],
  ): void {
    // The request is checked by `parse`, not trusted for its declared type: it comes from outside.
    setHandler(definition as unknown as UpdateDefinition<ControlsResult, [unknown]>, (raw: unknown) => applyControl(() => apply(parse(raw))), {
      validator: (raw: unknown) => {
        checkControllable();
        try {
          parse(raw);
        } catch (err) {
          rejectRequest(err);
        }
      },
    });
  }

  controlUpdate(settingsUpdate, parseSettingsRequest, ({ set, unset, actor }) => {
    const before = effective();
    const operator: SettingValues = { ...controls.operator, ...set };
    for (const key of unset) delete operator[key];
    controls = { ...controls, operator };
    const changes = changedSettings(before, effective());
    return changes.length === 0 ? [] : [controlEvent('CLUSTER_SETTINGS_CHANGED', { actor, layer: 'operator', changes })];
  });

  controlUpdate(defaultsUpdate, parseDefaultsRequest, ({ defaults, actor }) => {
    const before = effective();
    defaultLayer = { ...defaultLayer, ...defaults };
    const changes = changedSettings(before, effective());
    return changes.length === 0 ? [] : [controlEvent('CLUSTER_SETTINGS_CHANGED', { actor, layer: 'default', changes })];
  });

  controlUpdate(
    pauseUpdate,
    (raw) => parsePauseRequest(raw, Date.now()),
    ({ until, reason, actor }) => {
      const pause: ControlWindow = { since: nowIso(), until, reason, actor };
      controls = { ...controls, pause };
      return [controlEvent('CLUSTER_PAUSED', pause)];
    },
  );

  controlUpdate(resumeUpdate, parseActorRequest, ({ actor }) => {
    const pause = controls.pause;
    if (!pause) return [];
    controls = { ...controls, pause: null };
    refreshRequested = true;
    return [controlEvent('CLUSTER_RESUMED', { window: pause, ended_by: actor, why: 'operator' })];
  });

  controlUpdate(
    maintenanceUpdate,
    (raw) => parseMaintenanceRequest(raw, Date.now()),
    (request) => {
      if (request.end) {
        const window = controls.maintenance;
        if (!window) return [];
        controls = { ...controls, maintenance: null };
        return [controlEvent('CLUSTER_MAINTENANCE_ENDED', { window, ended_by: request.actor, why: 'operator' })];
      }
      const window: ControlWindow = { since: nowIso(), until: request.until, reason: request.reason, actor: request.actor };
      controls = { ...controls, maintenance: window };
      return [controlEvent('CLUSTER_MAINTENANCE_STARTED', window)];
    },
  );

  setHandler(viewQuery, (request) => {
    const problem = viewPageProblem(request);
    if (problem) throw new Error(problem);
    const paged = view ? viewPage(view, request ?? {}) : null;
    // A record of thousands of nodes would outweigh the page: it is paged the same way.
    const { offset, limit } = pageBounds(request ?? {});
    return {
      view: paged?.view ?? null,
      page: paged?.page ?? null,
      last_report: lastReport,
      record: record.nodes.length <= limit ? record : { ...record, nodes: record.nodes.slice(offset, offset + limit) },
      record_nodes_total: record.nodes.length,
      settings: { ...startSettings, refresh_interval_s: intervalS(), agent_timeout_ms: agentTimeoutMs(), node_retire_grace_s: nodeGraceS(), cluster_retire_grace_s: effective().cluster_retire_grace_s.value },
      phase,
      events_pending: eventsPending,
      stored_generation: storedView?.generation ?? null,
      store_error: storeError,
      published_generation: publishedGeneration,
      publishing_view: publishingView ? viewPage(publishingView, request ?? {}).view : null,
      ...(usesControls ? { controls: controlsState() } : {}),
    };
  });

  setHandler(resumeViewQuery, () => publishingView ?? view);

  if (!('record' in parsed)) {
    throw ApplicationFailure.nonRetryable(`invalid clusterRefresh input: ${parsed.problems.join('; ')}`, 'InvalidInput', { problems: parsed.problems });
  }
  const expectedId = clusterWorkflowId(record.cluster_id);
  if (workflowInfo().workflowId !== expectedId) {
    throw ApplicationFailure.nonRetryable(
      `the workflow of cluster ${record.cluster_id} must have the id ${expectedId} (the id is the cluster's lock), not ${workflowInfo().workflowId}`,
      'InvalidInput',
    );
  }
  if (workflowInfo().typedSearchAttributes.get(clusterIdSearchAttribute) !== record.cluster_id) {
    upsertSearchAttributes([{ key: clusterIdSearchAttribute, value: record.cluster_id }]);
  }

  const refreshes = metricMeter.createCounter('fleetview_refreshes', 'count', 'completed cluster refreshes');
  const refreshLag = metricMeter.createHistogram('fleetview_refresh_lag', 'int', 'ms', 'how late a scheduled refresh started');
  const refreshDuration = metricMeter.createHistogram('fleetview_refresh_duration', 'int', 'ms', 'cluster refresh duration');
  // Clusters by status without a gauge per cluster (which every worker that ever ran the cluster
  // would keep exporting): each scheduled refresh adds its interval under the status it found, so
  // the counter's rate, summed over workers, is the number of clusters in that status refreshed on schedule.
  const clusterStatusSeconds = metricMeter.createCounter('fleetview_cluster_status_seconds', 's', 'cluster-seconds by status: its rate is the clusters in each status');

  // The observations this run holds and their token: the next observation carries only changes.
  let heldObservations = new Map<string, NodeObservation>();
  let heldToken: string | null = null;

  /** Every listed node's observation, and the nodes whose observation is the one the view already took. */
  async function observeAll(): Promise<{ observations: NodeObservation[]; unchanged: Set<string> }> {
    const unchanged = new Set<string>();
    const addresses = record.nodes.map((node) => node.agent_address);
    if (addresses.length === 0) return { observations: [], unchanged };
    const timeoutMs = agentTimeoutMs();
    const options = observeOptions(addresses.length, timeoutMs);
    const request = { cluster_id: record.cluster_id, addresses, timeout_ms: timeoutMs };
    try {
      if (!usesObservationDeltas) return { observations: await proxyLocalActivities<Activities>(options).observeCluster(request), unchanged };
      const { observeClusterChanges } = proxyLocalActivities<Activities>(options);
      const delta = await observeClusterChanges({ ...request, base_token: heldToken });
      let applied = applyObservationDelta(heldObservations, heldToken, addresses, delta);
      let token = delta.token;
      if (applied === null) {
        // The delta does not fit what this run holds (never expected): start over from a full one.
        log.warn('an observation delta did not apply; observing in full', { cluster_id: record.cluster_id, held_token: heldToken });
        const full = await observeClusterChanges({ ...request, base_token: null });
        applied = applyObservationDelta(new Map(), null, addresses, full);
        if (applied === null) throw new Error('a full observation lacks requested nodes');
        token = full.token;
      }
      if (token === delta.token && delta.base_token !== null) {
        const changed = new Set(delta.changed.map((observation) => observation.address));
        for (const address of applied.held.keys()) if (!changed.has(address)) unchanged.add(address);
      }
      heldObservations = applied.held;
      heldToken = token;
      return { observations: applied.observations, unchanged };
    } catch (err) {
      // The activity itself failed (e.g. its worker died twice): a status, not a failed refresh.
      heldObservations = new Map();
      heldToken = null;
      return { observations: addresses.map((address) => unreachable(address, `node fetch failed: ${(err as Error).message}`)), unchanged };
    }
  }

  /** Events out first (held while Kafka is down), then the view to the store if it needs it. */
  async function commit(events: FleetEvent[], next: ClusterView): Promise<RefreshReport['store']> {
    const touchDue = storedView !== null && Date.parse(next.refreshed_at) - Date.parse(storedView.refreshed_at) >= startSettings.store_touch_s * 1000;
    const storeNeeded = storedView === null || touchDue || !sameMaterialView(storedView, next);
    if (events.length === 0 && !storeNeeded) return 'unchanged';
    if (events.length > 0) {
      publishedGeneration = next.generation;
      publishingView = next;
      if (usesObservationDeltas || patched(durableObservationPatch)) {
        // Before any event leaves, two things become durable: the memo says this generation may
        // be out, and this workflow task ends, so the observation the events come from is in the
        // history. A task retried after its worker died mid-publish then sends these very events
        // again rather than a fresh observation's under the same ids.
        upsertMemo({ [publishedGenerationMemo]: publishedGeneration });
        await sleep(1);
      }
    }
    eventsPending = events.length;
    phase = events.length > 0 ? 'publishing' : 'saving';
    let result;
    try {
      // A touch (nothing material changed) sends the summary only: a large cluster's view stays here.
      const touchOnly = storeNeeded && storedView !== null && touchDue && sameMaterialView(storedView, next);
      result = touchOnly
        ? await commitRefresh({ events, view: null, touch: { ...next, members: [], shards: [] }, stored_view: null })
        : await commitRefresh({ events, view: storeNeeded ? next : null, stored_view: storedView });
    } catch (err) {
      // Kafka has been failing for longer than the local budget: hold the events durably. The
      // view stays owed to the store and goes with the next refresh.
      log.warn('publishing is retried until Kafka takes the events', { cluster_id: record.cluster_id, error: (err as Error).message });
      for (let start = 0; start < events.length; start += publishBatchSize) {
        await publishEvents(events.slice(start, start + publishBatchSize));
        eventsPending = events.length - Math.min(events.length, start + publishBatchSize);
      }
      eventsPending = 0;
      return storeNeeded ? 'failed' : 'unchanged';
    }
    eventsPending = 0;
    if (!storeNeeded) return 'unchanged';
    if (!result.stored) {
      storeError = result.store_error;
      return 'failed';
    }
    storedView = next;
    storeError = null;
    return 'written';
  }

  async function refreshOnce(scheduledAtMs: number | null): Promise<void> {
    const startedMs = Date.now();
    if (scheduledAtMs !== null) refreshLag.record(Math.max(0, startedMs - scheduledAtMs));
    const refreshedAt = new Date(startedMs).toISOString();
    phase = 'fetching';
    const { observations, unchanged } = await observeAll();
    const aggregated = aggregate(view, record, observations, refreshedAt, { nodeRetireGraceMs: nodeGraceS() * 1000, unchanged });
    // Above every generation a predecessor may have published: its ids are taken.
    const next = aggregated.generation > generationFloor ? aggregated : { ...aggregated, generation: generationFloor + 1 };
    const events = withMaintenanceMark(diff(view, next), startedMs);
    const store = await commit(events, next);
    view = next;
    publishingView = null;
    lastReport = {
      generation: next.generation,
      started_at: refreshedAt,
      duration_ms: Date.now() - startedMs,
      nodes_fetched: observations.length,
      nodes_down: observations.filter((o) => o.status.code !== 'UP').length,
      events_emitted: events.length,
      status: next.status,
      store,
    };
    phase = 'waiting';
    refreshes.add(1);
    refreshDuration.record(lastReport.duration_ms);
    if (scheduledAtMs !== null) clusterStatusSeconds.add(intervalS(), { status: next.status });
  }

  // Asked once, here, in the first activation and before any activity. Asked later, in an
  // activation that resolves a local activity, a new patch is recorded in the workflow task that
  // completes it, which is a later one than replay delivers that activation in when the local
  // activity outlasted a task heartbeat (a slow machine): replayed, the patch then reads as
  // absent and the run takes the old path against its own history. Runs with deltas also have
  // the durable observation without asking for that patch (its marker could land the same way).
  const usesObservationDeltas = patched(observationDeltaPatch);
  const readsSlotClock = patched(slotClockPatch);

  if (!input.carried) {
    // Started anew for a cluster fleetview may already know (its workflow was terminated, or it
    // was retired and is listed again): continue where the predecessor stopped (its last view
    // when it published past the store, else the stored view), numbering above everything it
    // may have published, so event ids never repeat and known nodes are not announced as new.
    if (patched(resumePointPatch)) {
      const info = workflowInfo();
      const resume = await loadResumePoint({ cluster_id: record.cluster_id, workflow_id: info.workflowId, run_id: info.runId });
      view = resume.view;
      storedView = resume.stored_view;
      generationFloor = resume.generation_floor;
      // The operator's controls outlive the workflow: a pause or an override set before it was
      // terminated (or retired and listed again) still holds.
      if (usesControls && resume.controls) {
        controls = resume.controls;
        syncSearchAttributes();
      }
    } else {
      view = await loadStoredView(record.cluster_id);
      storedView = view;
    }
    publishedGeneration = Math.max(view?.generation ?? 0, generationFloor);
    controlsLoaded = true;
  }

  let refreshesThisRun = 0;
  // A new workflow refreshes at once; a continued one keeps its slot unless a request is pending.
  let refreshNow = !input.carried || refreshRequested;
  // The last slot refreshed at: a worker clock ahead of the server's must not bring it round twice.
  let lastSlotAtMs = input?.carried?.last_slot_at_ms ?? null;
  // The slot this run was waiting for when a change of settings woke it: a longer interval takes
  // effect after it, a shorter one at once.
  let pendingSlotAtMs: number | null = null;
  for (;;) {
    let scheduledAtMs: number | null = null;
    expireWindows();
    if (controlsOwed && recordingsInFlight === 0) void recordChange([]);
    if (paused()) {
      // No agent calls until resumed or the pause ends; discovery's records and retirement still apply.
      const pause = controls.pause as ControlWindow;
      setCurrentDetails(`**${record.cluster_id}** paused ${describeWindow(pause)}${view ? `\n\nlast refresh: generation ${view.generation} at ${view.refreshed_at}, ${view.status}` : ''}`);
      const seen = controlsVersion;
      const endMs = msUntilWindowEnds({ ...controls, maintenance: null }, Date.now());
      await condition(() => retirement !== null || controlsVersion !== seen, endMs ?? undefined);
      if (retirement) break;
      // Resumed (or expired, which the next round records): what changed meanwhile is refreshed at once.
      refreshNow = true;
      pendingSlotAtMs = null;
      continue;
    }
    if (!refreshNow) {
      let nowMs = Date.now();
      const intervalMs = intervalS() * 1000;
      if (readsSlotClock && refreshesThisRun > 0 && view !== null && view.nodes + view.shards_count >= slotClockThreshold) {
        try {
          nowMs += slotClockAdvanceMs(nowMs, await readClock(), intervalMs);
        } catch {
          // Never expected (it reads a clock); workflow time is the fallback.
        }
      }
      let waitMs = msUntilNextSlot(nowMs, intervalMs, refreshPhaseMs(record.cluster_id, intervalMs));
      if (lastSlotAtMs !== null && nowMs + waitMs <= lastSlotAtMs) waitMs += intervalMs;
      if (pendingSlotAtMs !== null && pendingSlotAtMs > nowMs && pendingSlotAtMs < nowMs + waitMs) waitMs = pendingSlotAtMs - nowMs;
      const slotAtMs = nowMs + waitMs;
      if (view && lastReport) setCurrentDetails(describeView(view, lastReport, slotAtMs) + describeControls(controls, nowMs));
      // A maintenance window that ends before the slot wakes the run to record its end.
      const windowEndMs = usesControls ? msUntilWindowEnds(controls, nowMs) : null;
      const timerMs = windowEndMs === null ? waitMs : Math.min(waitMs, windowEndMs);
      const seen = controlsVersion;
      const woken = await condition(() => refreshRequested || recordChanged || retirement !== null || controlsVersion !== seen, timerMs);
      if (!woken && timerMs === waitMs) {
        // The lag is from the slot to this workflow task (its time is when the task started).
        scheduledAtMs = slotAtMs;
        lastSlotAtMs = slotAtMs;
      } else if (!refreshRequested && !recordChanged && retirement === null) {
        // Woken by a change of controls or the end of a window: time the slot anew.
        pendingSlotAtMs = slotAtMs;
        continue;
      }
    }
    if (retirement) break;
    if (paused()) continue;
    pendingSlotAtMs = null;
    refreshRequested = false;
    recordChanged = false;
    refreshing = true;
    try {
      await refreshOnce(scheduledAtMs);
    } finally {
      refreshing = false;
    }
    refreshesThisRun += 1;
    if (retirement) break;
    refreshNow = refreshRequested || recordChanged;

    const wantsNewRun = workflowInfo().continueAsNewSuggested || refreshesThisRun >= startSettings.max_refreshes_per_run;
    if (wantsNewRun && !refreshNow) {
      // Let handlers finish first (a refreshNow caller answered by this refresh is about to
      // return), and the recording of operators' changes. One that waits for a further refresh
      // has requested it: serve it, then retry.
      await condition(() => (allHandlersFinished() && recordingsInFlight === 0) || refreshRequested || recordChanged || retirement !== null);
      refreshNow = refreshRequested || recordChanged;
    }
    if (wantsNewRun && !refreshNow && !retirement && allHandlersFinished() && recordingsInFlight === 0) {
      const carried = {
        view,
        last_report: lastReport,
        refresh_pending: false,
        ...(storedView === view ? {} : { stored_view: storedView }),
        ...(readsSlotClock ? { last_slot_at_ms: lastSlotAtMs } : {}),
      };
      // The memo goes along: a successor of the next run must find it even if that run publishes nothing.
      await makeContinueAsNewFunc<typeof clusterRefresh>({ memo: { [publishedGenerationMemo]: publishedGeneration } })(
        usesControls
          ? {
              ...record,
              ...startSettings,
              // The default layer as it stands now: a `defaults` update lives on.
              refresh_interval_s: defaultLayer.refresh_interval_s ?? startSettings.refresh_interval_s,
              agent_timeout_ms: defaultLayer.agent_timeout_ms ?? null,
              node_retire_grace_s: defaultLayer.node_retire_grace_s ?? startSettings.node_retire_grace_s,
              cluster_retire_grace_s: defaultLayer.cluster_retire_grace_s ?? null,
              carried: { ...carried, controls, ...(controlsOwed ? { controls_owed: true } : {}) },
            }
          : { cluster_id: record.cluster_id, display_name: record.display_name, nodes: record.nodes, ...legacySettings(startSettings), carried },
      );
    }
  }
  phase = 'retired';
  const retired = retirement as { reason: string; at: string };
  setCurrentDetails(`**${record.cluster_id}** retired at ${retired.at}: ${retired.reason}`);
  // refreshNow callers still waiting are answered (they fail: no refresh will come), and
  // operators' changes recorded, before completing.
  await condition(() => allHandlersFinished() && recordingsInFlight === 0);
  return { retired, last_generation: completedGeneration() };
}

/** The settings a run before operator controls carried on: the ones it had, no new fields. */
function legacySettings(settings: ClusterRefreshSettings): Omit<ClusterRefreshSettings, 'cluster_retire_grace_s'> {
  const { cluster_retire_grace_s: _absent, ...rest } = settings;
  return rest;
}

function describeControls(controls: ClusterControls, nowMs: number): string {
  const lines: string[] = [];
  if (windowActive(controls.maintenance, nowMs)) {
    const window = controls.maintenance;
    lines.push(`in maintenance until ${window.until ?? '-'} (by ${window.actor.user}: ${window.reason})`);
  }
  const overrides = Object.entries(controls.operator).map(([key, value]) => `${key}=${value}`);
  if (overrides.length > 0) lines.push(`operator settings: ${overrides.join(', ')}`);
  return lines.length === 0 ? '' : `\n\n${lines.join('\n\n')}`;
}
