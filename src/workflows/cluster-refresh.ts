/**
 * One cluster's refresher. Its workflow ID `cluster/<cluster_id>` is the lock: Temporal runs at
 * most one execution per ID, and inside it refreshes are strictly serial.
 *
 * Loop: wait for the next refresh slot (a durable timer with a stable per-cluster phase), a
 * force refresh, or a new node list; fetch every node in one local activity; aggregate and diff
 * in workflow code; publish the events and hand the changed view to the store in a second local
 * activity (only when there are events or something to store); keep a report. Continue-as-new
 * when the server suggests it or after the run's refreshes (refreshesForRun: max_refreshes_per_run,
 * longer for a large cluster; the SDK keeps a run's state machines until it ends), carrying the
 * view as plain JSON so the generation keeps growing.
 *
 * Cost: a quiet refresh is one workflow task and six history events (timer fired, task
 * scheduled/started/completed, the observation marker, the next timer); one with events adds the
 * memo, a second task behind a 1 ms timer (the observation is durable before anything is
 * published) and the commit marker: 13 events. Local activities, not one activity per node: the
 * refresh loop runs at fleet size, every interval, forever (../shared/design/ARCHITECTURE.md,
 * "The cost of one refresh").
 *
 * The store never holds a refresh up: the commit waits for it a bounded time, and a view it did
 * not take stays owed (`stored_view` lags) and is sent again with the next refresh. Kafka is
 * different: events are published before anything else happens, and while Kafka is down the
 * workflow holds them in a durable activity retried until they are out (order per cluster).
 *
 * This file holds the handlers and the loop. Beside it: the activities with their options
 * (refresh-activities.ts), the node observations (node-observer.ts), the operator's controls and
 * their recording (operator-controls.ts, control-recorder.ts), the messages and search attributes
 * (messages.ts). The decisions are pure code in domain: what a refresh writes and carries on
 * (refresh-cycle.ts), when the next slot is (refresh-slots.ts), what an operator's change does
 * and its audit events (cluster-control-changes.ts).
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  log,
  makeContinueAsNewFunc,
  metricMeter,
  patched,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { aggregate } from '../domain/aggregate.js';
import { describeWindow, markedForMaintenance } from '../domain/cluster-control-changes.js';
import { parseActorRequest, type ControlWindow } from '../domain/cluster-controls.js';
import type { ClusterView } from '../domain/cluster-view.js';
import { sameDiscoveryRecord } from '../domain/discovery-events.js';
import type { DiscoveryRecord } from '../domain/discovery-record.js';
import { diff } from '../domain/diff.js';
import type { FleetEvent } from '../domain/event-catalogue.js';
import { clusterWorkflowId } from '../domain/ids.js';
import {
  aboveGenerationFloor,
  continuedInput,
  defaultLayerOf,
  describeRefresh,
  planStoreWrite,
  refreshesForRun,
  refreshReport,
  startingCycle,
  touchSummary,
  type RefreshReport,
} from '../domain/refresh-cycle.js';
import { planSlot, slotClockAdvanceMs } from '../domain/refresh-slots.js';
import { pageBounds, viewPage, viewPageProblem } from '../domain/view-page.js';
import { InvalidInputError, parseClusterRefreshInput, parseDiscoveryRecord, refreshNowArgumentsProblem, retireReason } from './input.js';
import {
  clusterIdSearchAttribute,
  clusterRefreshDefaults,
  clusterWorkflowTaskTimeout,
  nodesSignal,
  publishedGenerationMemo,
  refreshBySignal,
  refreshNowByUpdate,
  resumeViewQuery,
  retireSignal,
  viewQuery,
  type ClusterRefreshInput,
  type ClusterRefreshResult,
} from './messages.js';
import { createNodeObserver } from './node-observer.js';
import { createOperatorControls } from './operator-controls.js';
import { commitRefresh, loadResumePoint, loadStoredView, publishBatchSize, publishEvents, readClock, slotClockThreshold } from './refresh-activities.js';

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
const runLengthPatch = 'run-length';

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
  const cycle = startingCycle(input?.carried);

  // What wakes the loop besides its timer.
  let refreshRequested = input?.carried?.refresh_pending ?? false;
  let recordChanged = false;
  let retirement: { reason: string; at: string } | null = null;

  // The operator's controls, over the default layer of the settings (the input's flat settings:
  // the worker's configuration at start, or the last `defaults` update) and the record's.
  const startSettings = 'settings' in parsed ? parsed.settings : clusterRefreshDefaults;
  const completedGeneration = () => cycle.view?.generation ?? 0;
  const operator = createOperatorControls(
    {
      usesControls,
      clusterId: () => record.cluster_id,
      discoverySettings: () => record.settings ?? {},
      generation: completedGeneration,
      retirement: () => retirement,
      requestRefresh: () => (refreshRequested = true),
    },
    { controls: input?.carried?.controls, owed: input?.carried?.controls_owed, defaults: defaultLayerOf(startSettings), loaded: input?.carried !== undefined },
  );
  const effective = () => operator.effective();
  const intervalS = () => effective().refresh_interval_s.value ?? startSettings.refresh_interval_s;
  const agentTimeoutMs = () => effective().agent_timeout_ms.value;
  const nodeGraceS = () => effective().node_retire_grace_s.value ?? startSettings.node_retire_grace_s;

  setHandler(refreshBySignal, (request?: unknown) => {
    refreshRequested = true;
    if (request === undefined || request === null) return;
    try {
      operator.refreshRequestedBy(parseActorRequest(request).actor, false);
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
      operator.discoverySettingsChanged(before);
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
      const target = completedGeneration() + (cycle.refreshing ? 2 : 1);
      refreshRequested = true;
      if (request !== undefined && request !== null && !(typeof request === 'object' && Object.keys(request).length === 0)) {
        operator.refreshRequestedBy(parseActorRequest(request).actor, true);
      }
      await condition(() => completedGeneration() >= target || retirement !== null);
      if (completedGeneration() < target || !cycle.last_report) {
        throw ApplicationFailure.nonRetryable(`the cluster was retired before the refresh: ${retirement?.reason}`, 'Retired');
      }
      return cycle.last_report;
    },
    {
      // An update may arrive with the first workflow task, before the input is parsed: only
      // arguments and a retired or paused cluster reject it (the handler waits for the refresh).
      validator: (...args: unknown[]) => {
        const problem = refreshNowArgumentsProblem(args);
        if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidArgument');
        if (retirement) throw new Error(`the cluster was retired: ${retirement.reason}`);
        const pause = operator.controls().pause;
        if (operator.paused() && pause) {
          throw ApplicationFailure.nonRetryable(
            `cluster ${record.cluster_id} is paused ${describeWindow(pause)}; resume it first (fleetview cluster resume ${record.cluster_id})`,
            'Paused',
          );
        }
      },
    },
  );

  operator.registerUpdates();

  setHandler(viewQuery, (request) => {
    const problem = viewPageProblem(request);
    if (problem) throw new Error(problem);
    const paged = cycle.view ? viewPage(cycle.view, request ?? {}) : null;
    // A record of thousands of nodes would outweigh the page: it is paged the same way.
    const { offset, limit } = pageBounds(request ?? {});
    return {
      view: paged?.view ?? null,
      page: paged?.page ?? null,
      last_report: cycle.last_report,
      record: record.nodes.length <= limit ? record : { ...record, nodes: record.nodes.slice(offset, offset + limit) },
      record_nodes_total: record.nodes.length,
      settings: { ...startSettings, refresh_interval_s: intervalS(), agent_timeout_ms: agentTimeoutMs(), node_retire_grace_s: nodeGraceS(), cluster_retire_grace_s: effective().cluster_retire_grace_s.value },
      phase: cycle.phase,
      events_pending: cycle.events_pending,
      stored_generation: cycle.stored_view?.generation ?? null,
      store_error: cycle.store_error,
      published_generation: cycle.published_generation,
      publishing_view: cycle.publishing_view ? viewPage(cycle.publishing_view, request ?? {}).view : null,
      ...(usesControls ? { controls: operator.state() } : {}),
    };
  });

  setHandler(resumeViewQuery, () => cycle.publishing_view ?? cycle.view);

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

  /** Events out first (held while Kafka is down), then the view to the store if it needs it. */
  async function commit(events: FleetEvent[], next: ClusterView): Promise<RefreshReport['store']> {
    const write = planStoreWrite(cycle.stored_view, next, startSettings.store_touch_s);
    if (events.length === 0 && write === 'none') return 'unchanged';
    if (events.length > 0) {
      cycle.published_generation = next.generation;
      cycle.publishing_view = next;
      if (usesObservationDeltas || patched(durableObservationPatch)) {
        // Before any event leaves, two things become durable: the memo says this generation may
        // be out, and this workflow task ends, so the observation the events come from is in the
        // history. A task retried after its worker died mid-publish then sends these very events
        // again rather than a fresh observation's under the same ids.
        upsertMemo({ [publishedGenerationMemo]: cycle.published_generation });
        await sleep(1);
      }
    }
    cycle.events_pending = events.length;
    cycle.phase = events.length > 0 ? 'publishing' : 'saving';
    let result;
    try {
      result =
        write === 'touch'
          ? await commitRefresh({ events, view: null, touch: touchSummary(next), stored_view: null })
          : await commitRefresh({ events, view: write === 'view' ? next : null, stored_view: cycle.stored_view });
    } catch (err) {
      // Kafka has been failing for longer than the local budget: hold the events durably. The
      // view stays owed to the store and goes with the next refresh.
      log.warn('publishing is retried until Kafka takes the events', { cluster_id: record.cluster_id, error: (err as Error).message });
      for (let start = 0; start < events.length; start += publishBatchSize) {
        await publishEvents(events.slice(start, start + publishBatchSize));
        cycle.events_pending = events.length - Math.min(events.length, start + publishBatchSize);
      }
      cycle.events_pending = 0;
      return write === 'none' ? 'unchanged' : 'failed';
    }
    cycle.events_pending = 0;
    if (write === 'none') return 'unchanged';
    if (!result.stored) {
      cycle.store_error = result.store_error;
      return 'failed';
    }
    cycle.stored_view = next;
    cycle.store_error = null;
    return 'written';
  }

  async function refreshOnce(scheduledAtMs: number | null): Promise<void> {
    const startedMs = Date.now();
    if (scheduledAtMs !== null) refreshLag.record(Math.max(0, startedMs - scheduledAtMs));
    cycle.phase = 'fetching';
    const { observations, unchanged } = await observer.observe(record, agentTimeoutMs());
    const aggregated = aggregate(cycle.view, record, observations, new Date(startedMs).toISOString(), { nodeRetireGraceMs: nodeGraceS() * 1000, unchanged });
    const next = aboveGenerationFloor(aggregated, cycle.generation_floor);
    const changes = diff(cycle.view, next);
    const events = usesControls ? markedForMaintenance(changes, operator.controls().maintenance, startedMs) : changes;
    const store = await commit(events, next);
    cycle.view = next;
    cycle.publishing_view = null;
    const report = refreshReport({ view: next, started_ms: startedMs, finished_ms: Date.now(), observations, events, store });
    cycle.last_report = report;
    cycle.phase = 'waiting';
    refreshes.add(1);
    refreshDuration.record(report.duration_ms);
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
  const observer = createNodeObserver(usesObservationDeltas);
  // Runs before the spread and the longer runs of large clusters end after max_refreshes_per_run, as their histories say.
  const runLengthBySize = patched(runLengthPatch);
  const refreshesThisRunMax = () =>
    runLengthBySize
      ? refreshesForRun({
          cluster_id: record.cluster_id,
          max_per_run: startSettings.max_refreshes_per_run,
          continued: input.carried !== undefined,
          entries: (cycle.view?.nodes ?? 0) + (cycle.view?.shards_count ?? 0),
        })
      : startSettings.max_refreshes_per_run;

  if (!input.carried) {
    // Started anew for a cluster fleetview may already know (its workflow was terminated, or it
    // was retired and is listed again): continue where the predecessor stopped (its last view
    // when it published past the store, else the stored view), numbering above everything it
    // may have published, so event ids never repeat and known nodes are not announced as new.
    if (patched(resumePointPatch)) {
      const info = workflowInfo();
      const resume = await loadResumePoint({
        cluster_id: record.cluster_id,
        workflow_id: info.workflowId,
        run_id: info.runId,
        ...(input.no_earlier_run === true ? { no_earlier_run: true } : {}),
      });
      cycle.view = resume.view;
      cycle.stored_view = resume.stored_view;
      cycle.generation_floor = resume.generation_floor;
      cycle.published_generation = Math.max(cycle.view?.generation ?? 0, cycle.generation_floor);
      operator.loaded(resume.controls ?? null);
    } else {
      cycle.view = await loadStoredView(record.cluster_id);
      cycle.stored_view = cycle.view;
      cycle.published_generation = cycle.view?.generation ?? 0;
      operator.loaded(null);
    }
  }

  let refreshesThisRun = 0;
  // A new workflow refreshes at once; a continued one keeps its slot unless a request is pending.
  let refreshNow = !input.carried || refreshRequested;
  let lastSlotAtMs = input?.carried?.last_slot_at_ms ?? null;
  let pendingSlotAtMs: number | null = null;
  for (;;) {
    let scheduledAtMs: number | null = null;
    operator.expireEndedWindows();
    operator.retryOwed();
    if (operator.paused()) {
      // No agent calls until resumed or the pause ends; discovery's records and retirement still apply.
      const pause = operator.controls().pause as ControlWindow;
      const view = cycle.view;
      setCurrentDetails(`**${record.cluster_id}** paused ${describeWindow(pause)}${view ? `\n\nlast refresh: generation ${view.generation} at ${view.refreshed_at}, ${view.status}` : ''}`);
      const seen = operator.version();
      const endMs = operator.msUntilWindowEnds(Date.now(), true);
      await condition(() => retirement !== null || operator.version() !== seen, endMs ?? undefined);
      if (retirement) break;
      // Resumed (or expired, which the next round records): what changed meanwhile is refreshed at once.
      refreshNow = true;
      pendingSlotAtMs = null;
      continue;
    }
    if (!refreshNow) {
      let nowMs = Date.now();
      const intervalMs = intervalS() * 1000;
      const view = cycle.view;
      if (readsSlotClock && refreshesThisRun > 0 && view !== null && view.nodes + view.shards_count >= slotClockThreshold) {
        try {
          nowMs += slotClockAdvanceMs(nowMs, await readClock(), intervalMs);
        } catch {
          // Never expected (it reads a clock); workflow time is the fallback.
        }
      }
      const slot = planSlot({
        now_ms: nowMs,
        interval_ms: intervalMs,
        cluster_id: record.cluster_id,
        last_slot_at_ms: lastSlotAtMs,
        pending_slot_at_ms: pendingSlotAtMs,
        // A window that ends before the slot wakes the run to record its end.
        window_end_ms: usesControls ? operator.msUntilWindowEnds(nowMs) : null,
      });
      if (cycle.view && cycle.last_report) setCurrentDetails(describeRefresh(cycle.view, cycle.last_report, slot.slot_at_ms) + operator.describe(nowMs));
      const seen = operator.version();
      const woken = await condition(() => refreshRequested || recordChanged || retirement !== null || operator.version() !== seen, slot.timer_ms);
      if (!woken && slot.timer_ms === slot.wait_ms) {
        // The lag is from the slot to this workflow task (its time is when the task started).
        scheduledAtMs = slot.slot_at_ms;
        lastSlotAtMs = slot.slot_at_ms;
      } else if (!refreshRequested && !recordChanged && retirement === null) {
        // Woken by a change of controls or the end of a window: time the slot anew.
        pendingSlotAtMs = slot.slot_at_ms;
        continue;
      }
    }
    if (retirement) break;
    if (operator.paused()) continue;
    pendingSlotAtMs = null;
    refreshRequested = false;
    recordChanged = false;
    cycle.refreshing = true;
    try {
      await refreshOnce(scheduledAtMs);
    } finally {
      cycle.refreshing = false;
    }
    refreshesThisRun += 1;
    if (retirement) break;
    refreshNow = refreshRequested || recordChanged;

    const wantsNewRun = workflowInfo().continueAsNewSuggested || refreshesThisRun >= refreshesThisRunMax();
    if (wantsNewRun && !refreshNow) {
      // Let handlers finish first (a refreshNow caller answered by this refresh is about to
      // return), and the recording of operators' changes. One that waits for a further refresh
      // has requested it: serve it, then retry.
      await condition(() => (allHandlersFinished() && operator.recordingsInFlight() === 0) || refreshRequested || recordChanged || retirement !== null);
      refreshNow = refreshRequested || recordChanged;
    }
    if (wantsNewRun && !refreshNow && !retirement && allHandlersFinished() && operator.recordingsInFlight() === 0) {
      // The memo goes along: a successor of the next run must find it even if that run publishes nothing.
      await makeContinueAsNewFunc<typeof clusterRefresh>({
        memo: { [publishedGenerationMemo]: cycle.published_generation },
        workflowTaskTimeout: clusterWorkflowTaskTimeout,
      })(
        continuedInput({
          record,
          start_settings: startSettings,
          defaults: operator.defaults(),
          view: cycle.view,
          stored_view: cycle.stored_view,
          last_report: cycle.last_report,
          last_slot_at_ms: readsSlotClock ? lastSlotAtMs : undefined,
          controls: operator.handover(),
        }),
      );
    }
  }
  cycle.phase = 'retired';
  const retired = retirement as { reason: string; at: string };
  setCurrentDetails(`**${record.cluster_id}** retired at ${retired.at}: ${retired.reason}`);
  // refreshNow callers still waiting are answered (they fail: no refresh will come), and
  // operators' changes recorded, before completing.
  await condition(() => allHandlersFinished() && operator.recordingsInFlight() === 0);
  return { retired, last_generation: completedGeneration() };
}
