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
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import { aggregate } from '../domain/aggregate.js';
import type { ClusterView } from '../domain/cluster-view.js';
import { sameDiscoveryRecord } from '../domain/discovery-events.js';
import type { DiscoveryRecord } from '../domain/discovery-record.js';
import { diff } from '../domain/diff.js';
import type { FleetEvent } from '../domain/event-catalogue.js';
import { clusterWorkflowId } from '../domain/ids.js';
import { sameMaterialView } from '../domain/material-view.js';
import type { NodeObservation } from '../domain/observation.js';
import { applyObservationDelta } from '../domain/observation-delta.js';
import { msUntilNextSlot, refreshPhaseMs, slotClockAdvanceMs } from '../domain/refresh-slots.js';
import { pageBounds, viewPage, viewPageProblem } from '../domain/view-page.js';
import { InvalidInputError, parseClusterRefreshInput, parseDiscoveryRecord, refreshNowArgumentsProblem, retireReason } from './input.js';
import {
  clusterRefreshDefaults,
  nodesSignal,
  publishedGenerationMemo,
  refreshNowUpdate,
  refreshSignal,
  resumeViewQuery,
  retireSignal,
  viewQuery,
  type ClusterRefreshInput,
  type RefreshPhase,
  type RefreshReport,
} from './messages.js';

export const clusterIdSearchAttribute = defineSearchAttributeKey('ClusterId', SearchAttributeType.KEYWORD);

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
  let record: DiscoveryRecord = 'record' in parsed ? parsed.record : { cluster_id: '', display_name: null, nodes: [] };
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

  const completedGeneration = () => view?.generation ?? 0;

  setHandler(refreshSignal, () => {
    refreshRequested = true;
  });

  setHandler(nodesSignal, (next) => {
    try {
      const nextRecord = parseDiscoveryRecord(next);
      if (nextRecord.cluster_id !== record.cluster_id) {
        log.warn('ignored a nodes signal for another cluster', { cluster_id: record.cluster_id, got: nextRecord.cluster_id });
        return;
      }
      // Discovery's signal-with-start sends the record the workflow was started with: the same
      // membership is no reason for a second refresh (at onboarding it would double the work).
      if (sameDiscoveryRecord(nextRecord, record)) return;
      record = nextRecord;
      recordChanged = true;
    } catch (err) {
      // A signal cannot be rejected; a bad one is logged (visible in the worker logs) and dropped.
      log.warn('ignored an invalid nodes signal', { cluster_id: record.cluster_id, error: (err as Error).message });
    }
  });

  setHandler(retireSignal, (request) => {
    retirement ??= { reason: retireReason(request), at: new Date(Date.now()).toISOString() };
  });

  setHandler(
    refreshNowUpdate,
    async () => {
      // A refresh under way started before this request: wait for the follow-up one.
      const target = completedGeneration() + (refreshing ? 2 : 1);
      refreshRequested = true;
      await condition(() => completedGeneration() >= target || retirement !== null);
      if (completedGeneration() < target || !lastReport) {
        throw ApplicationFailure.nonRetryable(`the cluster was retired before the refresh: ${retirement?.reason}`, 'Retired');
      }
      return lastReport;
    },
    {
      // An update may arrive with the first workflow task, before the input is parsed: only
      // arguments (it takes none) and a retired cluster reject it (the handler waits for the refresh).
      validator: (...args: unknown[]) => {
        const problem = refreshNowArgumentsProblem(args);
        if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidArgument');
        if (retirement) throw new Error(`the cluster was retired: ${retirement.reason}`);
      },
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
      settings: 'settings' in parsed ? parsed.settings : clusterRefreshDefaults,
      phase,
      events_pending: eventsPending,
      stored_generation: storedView?.generation ?? null,
      store_error: storeError,
      published_generation: publishedGeneration,
      publishing_view: publishingView ? viewPage(publishingView, request ?? {}).view : null,
    };
  });

  setHandler(resumeViewQuery, () => publishingView ?? view);

  if (!('record' in parsed)) {
    throw ApplicationFailure.nonRetryable(`invalid clusterRefresh input: ${parsed.problems.join('; ')}`, 'InvalidInput', { problems: parsed.problems });
  }
  const activeSettings = parsed.settings;
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

  const intervalMs = activeSettings.refresh_interval_s * 1000;
  const phaseMs = refreshPhaseMs(record.cluster_id, intervalMs);
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
    const options = observeOptions(addresses.length, activeSettings.agent_timeout_ms);
    const request = { cluster_id: record.cluster_id, addresses, timeout_ms: activeSettings.agent_timeout_ms };
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
    const touchDue = storedView !== null && Date.parse(next.refreshed_at) - Date.parse(storedView.refreshed_at) >= activeSettings.store_touch_s * 1000;
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
    const aggregated = aggregate(view, record, observations, refreshedAt, { nodeRetireGraceMs: activeSettings.node_retire_grace_s * 1000, unchanged });
    // Above every generation a predecessor may have published: its ids are taken.
    const next = aggregated.generation > generationFloor ? aggregated : { ...aggregated, generation: generationFloor + 1 };
    const events = diff(view, next);
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
    if (scheduledAtMs !== null) clusterStatusSeconds.add(activeSettings.refresh_interval_s, { status: next.status });
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
    } else {
      view = await loadStoredView(record.cluster_id);
      storedView = view;
    }
    publishedGeneration = Math.max(view?.generation ?? 0, generationFloor);
  }

  let refreshesThisRun = 0;
  // A new workflow refreshes at once; a continued one keeps its slot unless a request is pending.
  let refreshNow = !input.carried || refreshRequested;
  // The last slot refreshed at: a worker clock ahead of the server's must not bring it round twice.
  let lastSlotAtMs = input?.carried?.last_slot_at_ms ?? null;
  for (;;) {
    let scheduledAtMs: number | null = null;
    if (!refreshNow) {
      let nowMs = Date.now();
      if (readsSlotClock && refreshesThisRun > 0 && view !== null && view.nodes + view.shards_count >= slotClockThreshold) {
        try {
          nowMs += slotClockAdvanceMs(nowMs, await readClock(), intervalMs);
        } catch {
          // Never expected (it reads a clock); workflow time is the fallback.
        }
      }
      let waitMs = msUntilNextSlot(nowMs, intervalMs, phaseMs);
      if (lastSlotAtMs !== null && nowMs + waitMs <= lastSlotAtMs) waitMs += intervalMs;
      const slotAtMs = nowMs + waitMs;
      if (view && lastReport) setCurrentDetails(describeView(view, lastReport, slotAtMs));
      const woken = await condition(() => refreshRequested || recordChanged || retirement !== null, waitMs);
      // The lag is from the slot to this workflow task (its time is when the task started).
      if (!woken) {
        scheduledAtMs = slotAtMs;
        lastSlotAtMs = slotAtMs;
      }
    }
    if (retirement) break;
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

    const wantsNewRun = workflowInfo().continueAsNewSuggested || refreshesThisRun >= activeSettings.max_refreshes_per_run;
    if (wantsNewRun && !refreshNow) {
      // Let handlers finish first (a refreshNow caller answered by this refresh is about to
      // return). One that waits for a further refresh has requested it: serve it, then retry.
      await condition(() => allHandlersFinished() || refreshRequested || recordChanged || retirement !== null);
      refreshNow = refreshRequested || recordChanged;
    }
    if (wantsNewRun && !refreshNow && !retirement && allHandlersFinished()) {
      // The memo goes along: a successor of the next run must find it even if that run publishes nothing.
      await makeContinueAsNewFunc<typeof clusterRefresh>({ memo: { [publishedGenerationMemo]: publishedGeneration } })({
        cluster_id: record.cluster_id,
        display_name: record.display_name,
        nodes: record.nodes,
        ...activeSettings,
        carried: {
          view,
          last_report: lastReport,
          refresh_pending: false,
          ...(storedView === view ? {} : { stored_view: storedView }),
          ...(readsSlotClock ? { last_slot_at_ms: lastSlotAtMs } : {}),
        },
      });
    }
  }
  phase = 'retired';
  const retired = retirement as { reason: string; at: string };
  setCurrentDetails(`**${record.cluster_id}** retired at ${retired.at}: ${retired.reason}`);
  // refreshNow callers still waiting are answered (they fail: no refresh will come) before completing.
  await condition(allHandlersFinished);
  return { retired, last_generation: completedGeneration() };
}
