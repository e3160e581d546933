/**
 * The discovery workflow (type `discovery`). The Temporal Schedule starts one run per tick
 * (overlap SKIP); `temporal workflow start --type discovery` or `fleetview discovery run` start
 * one by hand. A run:
 *
 *  1. claims the enabled discoveries that are due (`next_run <= now`) and moves each one's
 *     `next_run` to `now + interval` (fixed rate); a discovery is claimed by one run only, so
 *     runs started together never double the work or the events;
 *  2. for each claimed discovery, concurrently: runs its source in an activity (bounded
 *     retries; the activity reads the settings from MongoDB, so credentials in them never enter
 *     this workflow's history), turns new and changed records into CLUSTER_NEW / CLUSTER_CHANGED (pure code,
 *     here), publishes them, hands each record to its cluster's refresh workflow, then saves
 *     the records. A source that fails changes nothing: its clusters keep refreshing from their
 *     last known records and nothing is retired for it; the run records the error and fails at
 *     the end, so it shows in the Web UI, in `temporal workflow list` and in the logs;
 *     A successful run that would make too many of the discovery's clusters missing at once
 *     is held by the retirement guard (src/domain/retirement-guard.ts): its new and changed
 *     records go ahead, the clusters it dropped stay listed until the list recovers or an
 *     operator releases them (`fleetview discovery release`);
 *  3. retires the clusters no enabled discovery has listed for longer than their grace period
 *     (two intervals of the discovery that listed them): CLUSTER_RETIRED, then the `retire`
 *     signal, after which the cluster's workflow completes.
 *
 * Event ids are `<cluster_id>/discovery/<run>/<EVENT>` where run is `<discovery>@<time>`, and
 * time is the run's scheduled time (the start time for runs started by hand): the same on every
 * retry and replay of the run, different for every run.
 *
 * Why signal-with-start from an activity rather than child workflows (ParentClosePolicy ABANDON):
 *  - a cluster workflow lives for months and a discovery run for seconds; a child would name a
 *    long-finished run as its parent forever;
 *  - one call covers both cases: it starts the workflow with the record as input, or delivers
 *    the record to the running one by the `nodes` signal. A child start instead fails with
 *    "already started" for every running cluster, and the record would then need a second step
 *    (an external signal) per cluster;
 *  - the calls run in an activity, batched and concurrent, so this workflow's history grows by
 *    a few events per hundred clusters rather than by several events per cluster (a first run
 *    over ten thousand clusters would otherwise approach the history limits);
 *  - the workflow ID is the lock either way: however many runs race, each cluster has one
 *    workflow.
 */
import { ApplicationFailure, log, metricMeter, proxyActivities, setCurrentDetails, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import type { ClusterToRetire, DiscoveryFindings } from '../activities/discovery.js';
import { clusterRetiredEvent, discoveryEvents } from '../domain/discovery-events.js';
import type { ClaimedDiscovery } from '../domain/discovery-run.js';
import { describeRetirementHold } from '../domain/retirement-guard.js';
import type { FleetEvent } from '../domain/event-catalogue.js';
import type { DiscoveryOutcome, DiscoveryRunResult } from './discovery-messages.js';

/** Set by the Schedule on the runs it starts. */
const scheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** MongoDB calls: a short outage is waited out; a long one fails the run, and the next tick retries. */
const storeOptions: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 20 },
};

/** A source gets three tries; a failure the source calls permanent (a bad glob, a GET with a cursor) gets one. */
const sourceOptions: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
};

/** Records are saved only after their events are published: a run that gives up loses nothing. */
const publishOptions: ActivityOptions = {
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
};

const refresherOptions: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 10 },
};

const store = proxyActivities<Activities>(storeOptions);
const { runDiscovery } = proxyActivities<Activities>(sourceOptions);
const { publishEvents } = proxyActivities<Activities>(publishOptions);
const { ensureClusterRefreshers, retireClusterRefreshers } = proxyActivities<Activities>(refresherOptions);

/** Events per publish activity, records per refresher activity: payloads stay far below 2 MiB. */
const publishBatchSize = 500;
const refresherBatchSize = 100;
/** Outcomes keep this many problems per discovery in the result and the store. */
const keptProblems = 20;

function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

async function publishAll(events: FleetEvent[]): Promise<void> {
  for (const batch of batches(events, publishBatchSize)) await publishEvents(batch);
}

function errorMessage(err: unknown): string {
  // An activity failure wraps the activity's own error: its message is the useful one.
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error && cause.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

function describeRun(result: DiscoveryRunResult): string {
  const lines = [`**discovery run at ${result.at}**: ${result.discoveries.length === 0 ? 'no discovery was due' : `${result.discoveries.length} due`}`];
  for (const d of result.discoveries) {
    lines.push(
      d.ok
        ? `- ${d.discovery}: ${d.clusters} clusters, ${d.changed} new or changed, ${d.events} events${d.problems.length ? `, ${d.problems.length} problems` : ''}`
        : `- ${d.discovery}: FAILED, last known records kept: ${d.error}`,
    );
    if (d.hold) lines.push(`  - retirements ${describeRetirementHold(d.hold)}: release with fleetview discovery release ${d.discovery}`);
  }
  if (result.retired.length > 0) lines.push(`retired: ${result.retired.join(', ')}`);
  return lines.join('\n');
}

export async function discovery(): Promise<DiscoveryRunResult> {
  const info = workflowInfo();
  const at = (info.typedSearchAttributes.get(scheduledStartTime) ?? info.startTime).toISOString();
  const claimant = `${info.workflowId}/${info.runId}`;

  const { claimed, invalid, enabled } = await store.claimDueDiscoveries({ at, claimant });

  // Discoveries run concurrently, but save one at a time: two that list the same cluster update
  // its `listed_by`, and not every MongoDB-wire store makes concurrent updates of one document
  // atomic (FerretDB v1, the embedded store before mongo-java-server, did not).
  let saving: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(save: () => Promise<T>): Promise<T> => {
    const next = saving.then(save);
    saving = next.catch(() => undefined);
    return next;
  };

  async function runOne(setting: ClaimedDiscovery): Promise<DiscoveryOutcome> {
    const name = setting.name;
    const outcome: DiscoveryOutcome = { discovery: name, ok: false, clusters: 0, changed: 0, events: 0, problems: [], error: null };
    let findings: DiscoveryFindings;
    try {
      findings = await runDiscovery({ discovery: name });
    } catch (err) {
      outcome.error = errorMessage(err);
      log.error('discovery failed: its clusters keep their last known records', { discovery: name, error: outcome.error });
      await store.recordDiscoveryOutcome({ discovery: name, outcome: { at, ok: false, clusters: 0, changed: 0, problems: [], error: outcome.error } });
      return outcome;
    }
    outcome.clusters = findings.listed.length;
    outcome.changed = findings.changes.length;
    outcome.problems = findings.problems.slice(0, keptProblems);
    for (const problem of outcome.problems) log.warn('discovery skipped a record', { discovery: name, problem });

    const context = { run: `${name}@${at}`, timestamp: at };
    const events = findings.changes.flatMap((change) => discoveryEvents(change.stored, change.seen, context));
    outcome.events = events.length;
    await publishAll(events);

    const graceS = 2 * setting.interval;
    const changedIds = new Set(findings.changes.map((change) => change.seen.cluster_id));
    const unchanged = findings.listed.filter((id) => !changedIds.has(id));
    for (const batch of batches(findings.changes, refresherBatchSize)) {
      // The discovery and its new clusters ride along: a paused discovery pauses them at start
      // (an input's new fields change no command, so old histories replay).
      await ensureClusterRefreshers({
        changed: batch.map((change) => change.seen),
        unchanged: [],
        node_retire_grace_s: graceS,
        discovery: name,
        new_clusters: batch.filter((change) => change.stored === null).map((change) => change.seen.cluster_id),
      });
    }
    // One activity for every unchanged cluster: it lists the running refreshers once.
    if (unchanged.length > 0) await ensureClusterRefreshers({ changed: [], unchanged, node_retire_grace_s: graceS });

    const saved = await oneAtATime(() =>
      store.saveDiscoveryListing({
        discovery: name,
        at,
        grace_s: graceS,
        changes: findings.changes.map((change) => ({ record: change.seen, is_new: change.stored === null })),
        listed: findings.listed,
      }),
    );
    outcome.ok = true;
    // Histories recorded before the guard carry no result here.
    const hold = (saved as typeof saved | undefined)?.hold ?? null;
    if (hold) {
      outcome.hold = hold;
      log.warn('discovery shrank too much at once: its retirements are held until its list recovers or an operator releases them', {
        discovery: name,
        held: hold.held,
        previous: hold.previous,
        listed: hold.listed,
        since: hold.since,
      });
    }
    await store.recordDiscoveryOutcome({
      discovery: name,
      outcome: { at, ok: true, clusters: outcome.clusters, changed: outcome.changed, problems: outcome.problems, error: null },
    });
    log.info('discovery ran', { discovery: name, clusters: outcome.clusters, changed: outcome.changed, events: outcome.events });
    return outcome;
  }

  // A discovery whose events or records could not be written fails alone; the others go on.
  const outcomes = await Promise.all(
    claimed.map((setting) =>
      runOne(setting).catch((err: unknown): DiscoveryOutcome => {
        const error = errorMessage(err);
        log.error('discovery run could not finish; nothing of it was saved and the next run repeats it', { discovery: setting.name, error });
        return { discovery: setting.name, ok: false, clusters: 0, changed: 0, events: 0, problems: [], error };
      }),
    ),
  );
  for (const bad of invalid) {
    outcomes.push({ discovery: bad.name, ok: false, clusters: 0, changed: 0, events: 0, problems: [], error: bad.problem });
  }
  // Per discovery, so an alert names the failing source; counted before retirements, which may fail the run.
  const discoveryRuns = metricMeter.createCounter('fleetview_discovery_runs', 'count', 'discovery runs by discovery and outcome (ok, failed)');
  for (const outcome of outcomes) {
    // Both series exist from a discovery's first run, so increase() counts every later failure (never a series' first sample).
    discoveryRuns.add(outcome.ok ? 1 : 0, { discovery: outcome.discovery, outcome: 'ok' });
    discoveryRuns.add(outcome.ok ? 0 : 1, { discovery: outcome.discovery, outcome: 'failed' });
  }

  // After every due discovery has run, so a cluster listed again in this run is not retired.
  const toRetire: ClusterToRetire[] = await store.claimRetirements({ at, run: `retire@${at}`, enabled });
  if (toRetire.length > 0) {
    const events = toRetire.map((cluster) =>
      clusterRetiredEvent(cluster.cluster_id, cluster.last_record, { run: cluster.retired_run, timestamp: cluster.retired_at }),
    );
    await publishAll(events);
    for (const batch of batches(toRetire, refresherBatchSize)) {
      await retireClusterRefreshers({
        clusters: batch.map((cluster) => ({
          cluster_id: cluster.cluster_id,
          retired_run: cluster.retired_run,
          reason: `no enabled discovery has listed ${cluster.cluster_id} since ${cluster.missing_since} (grace period ${cluster.grace_s} s)`,
        })),
      });
    }
    log.info('clusters retired', { clusters: toRetire.map((cluster) => cluster.cluster_id) });
  }

  const result: DiscoveryRunResult = { at, discoveries: outcomes, retired: toRetire.map((cluster) => cluster.cluster_id) };
  setCurrentDetails(describeRun(result));
  const failed = outcomes.filter((outcome) => !outcome.ok);
  if (failed.length > 0) {
    // Everything else in the run is done; failing now makes the broken source visible where
    // operators look (run status, schedule's recent actions), and the next tick runs as usual.
    throw ApplicationFailure.create({
      type: 'DiscoveryFailed',
      nonRetryable: true,
      message: `${failed.length} of ${outcomes.length} discoveries failed (their clusters keep their last known records): ${failed
        .map((outcome) => `${outcome.discovery}: ${outcome.error}`)
        .join('; ')}`,
      details: [result],
    });
  }
  return result;
}
