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
import { materialViewKey } from '../domain/material-view.js';
import type { NodeObservation } from '../domain/observation.js';
import { InvalidInputError, parseClusterRefreshInput, parseDiscoveryRecord, refreshNowArgumentsProblem, retireReason } from './input.js';
import {
  clusterRefreshDefaults,
  nodesSignal,
  publishedGenerationMemo,
  refreshNowUpdate,
  refreshSignal,
  retireSignal,
  viewQuery,
  type ClusterRefreshInput,
  type RefreshPhase,
  type RefreshReport,
} from './messages.js';

export const clusterIdSearchAttribute = defineSearchAttributeKey('ClusterId', SearchAttributeType.KEYWORD);

/** Events per publish activity: keeps each payload far below Temporal's 2 MiB blob limit. */
const publishBatchSize = 500;

/** While Kafka is down the events are held here and retried until they are out. */
const durableRetry: ActivityOptions = {
  // Generous for one batch; short enough that work lost with a dead worker is retried soon.
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
};

const { publishEvents } = proxyActivities<Activities>(durableRetry);

/**
 * A new workflow reads where to resume once: the stored view, and the generation its
 * predecessor may have published (a key lookup and a visibility list; local, no extra task).
 */
const resumeOptions: LocalActivityOptions = {
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' },
};
const { loadResumePoint } = proxyLocalActivities<Activities>(resumeOptions);

/**
 * Runs started before the resume point and the durable observation replay their recorded
 * commands through these patches; new runs take the new paths. Deprecate them once no run
 * started before them is left (every run continues as new within max_refreshes_per_run).
 */
const resumePointPatch = 'resume-point';
const durableObservationPatch = 'durable-observation';
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

function observeOptions(nodes: number, timeoutMs: number | null): LocalActivityOptions {
  // Three agent calls per node, two of them concurrent: two budgets plus slack. The default
  // budget (the worker's config) is not known here, so assume the largest a cluster may set.
  const budgetMs = timeoutMs ?? 15_000;
  return {
    summary: `observe ${nodes} node${nodes === 1 ? '' : 's'}`,
    startToCloseTimeout: 2 * budgetMs + 5_000,
    retry: { maximumAttempts: 2, initialInterval: '1 second' },
  };
}

/** A stable offset in [0, intervalMs) from the cluster id, so clusters spread over the interval. */
export function refreshPhaseMs(clusterId: string, intervalMs: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < clusterId.length; i++) {
    hash ^= clusterId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % intervalMs;
}

/** Milliseconds from `nowMs` to the next refresh slot of the cluster (never 0). */
export function msUntilNextSlot(nowMs: number, intervalMs: number, phaseMs: number): number {
  const into = (((nowMs - phaseMs) % intervalMs) + intervalMs) % intervalMs;
  return intervalMs - into;
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
  // The view last written to the store, and its material key: the next write carries only what
  // changed since, and a refresh whose view is materially the same writes nothing.
  let storedView: ClusterView | null = input?.carried ? (input.carried.stored_view === undefined ? view : input.carried.stored_view) : null;
  let storedKey: string | null = storedView ? materialViewKey(storedView) : null;
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

  setHandler(viewQuery, () => ({
    view,
    last_report: lastReport,
    record,
    settings: 'settings' in parsed ? parsed.settings : clusterRefreshDefaults,
    phase,
    events_pending: eventsPending,
    stored_generation: storedView?.generation ?? null,
    store_error: storeError,
    published_generation: publishedGeneration,
    publishing_view: publishingView,
  }));

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

  async function observeAll(): Promise<NodeObservation[]> {
    const addresses = record.nodes.map((node) => node.agent_address);
    if (addresses.length === 0) return [];
    const { observeCluster } = proxyLocalActivities<Activities>(observeOptions(addresses.length, activeSettings.agent_timeout_ms));
    try {
      return await observeCluster({ cluster_id: record.cluster_id, addresses, timeout_ms: activeSettings.agent_timeout_ms });
    } catch (err) {
      // The activity itself failed (e.g. its worker died twice): a status, not a failed refresh.
      return addresses.map((address) => unreachable(address, `node fetch failed: ${(err as Error).message}`));
    }
  }

  /** Events out first (held while Kafka is down), then the view to the store if it needs it. */
  async function commit(events: FleetEvent[], next: ClusterView): Promise<RefreshReport['store']> {
    const nextKey = materialViewKey(next);
    const touchDue = storedView !== null && Date.parse(next.refreshed_at) - Date.parse(storedView.refreshed_at) >= activeSettings.store_touch_s * 1000;
    const storeNeeded = storedKey !== nextKey || touchDue;
    if (events.length === 0 && !storeNeeded) return 'unchanged';
    if (events.length > 0) {
      publishedGeneration = next.generation;
      publishingView = next;
      if (patched(durableObservationPatch)) {
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
      result = await commitRefresh({ events, view: storeNeeded ? next : null, stored_view: storedView });
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
    storedKey = nextKey;
    storeError = null;
    return 'written';
  }

  async function refreshOnce(scheduledAtMs: number | null): Promise<void> {
    const startedMs = Date.now();
    if (scheduledAtMs !== null) refreshLag.record(Math.max(0, startedMs - scheduledAtMs));
    const refreshedAt = new Date(startedMs).toISOString();
    phase = 'fetching';
    const observations = await observeAll();
    const aggregated = aggregate(view, record, observations, refreshedAt, { nodeRetireGraceMs: activeSettings.node_retire_grace_s * 1000 });
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
  }

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
    storedKey = storedView ? materialViewKey(storedView) : null;
    publishedGeneration = Math.max(view?.generation ?? 0, generationFloor);
  }

  let refreshesThisRun = 0;
  // A new workflow refreshes at once; a continued one keeps its slot unless a request is pending.
  let refreshNow = !input.carried || refreshRequested;
  for (;;) {
    let scheduledAtMs: number | null = null;
    if (!refreshNow) {
      const waitMs = msUntilNextSlot(Date.now(), intervalMs, phaseMs);
      if (view && lastReport) setCurrentDetails(describeView(view, lastReport, Date.now() + waitMs));
      const woken = await condition(() => refreshRequested || recordChanged || retirement !== null, waitMs);
      if (!woken) scheduledAtMs = Date.now();
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
        carried: { view, last_report: lastReport, refresh_pending: false, ...(storedView === view ? {} : { stored_view: storedView }) },
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
