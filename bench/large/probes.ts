/**
 * What bench:large asks of a running fleetview beside the topic: bounded waits that say what
 * they waited for, the worker's refresh counter, the `view` query's raw answer, `fleetview view`,
 * and, when a first refresh does not complete, what was and was not reached.
 */
import type { Client } from '@temporalio/client';
import { clusterWorkflowId } from '../../src/domain/ids.js';
import { runCli, scrapeWorker, type FleetviewSession } from '../fleet/fleetview-run.js';
import { attributes, eventKind, fetchRunChain } from '../fleet/history.js';
import { delay } from '../fleet/processes.js';
import { counterTotal } from '../fleet/prom-text.js';
import { grepFrom } from './logs.js';
import { protoSizer, type PayloadShape } from './history-cost.js';

export interface Waited<T> {
  value: T | null;
  waited_ms: number;
  /** Null when the value came; else what was waited for and why it stopped ("not within 180 s", "the worker exited"). */
  failure: string | null;
}

/**
 * Polls `probe` every `everyMs` until it gives a value, `timeoutMs` passes or `stop` names a
 * reason to give up (the worker died). Never throws for a probe's error: it is retried.
 */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null> | T | null, stop: () => string | null = () => null, everyMs = 500): Promise<Waited<T>> {
  const started = Date.now();
  let lastError: string | null = null;
  for (;;) {
    try {
      const value = await probe();
      if (value !== null) return { value, waited_ms: Date.now() - started, failure: null };
    } catch (err) {
      lastError = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    }
    const reason = stop();
    if (reason !== null) return { value: null, waited_ms: Date.now() - started, failure: `${what}: gave up after ${Math.round((Date.now() - started) / 1000)} s, ${reason}` };
    if (Date.now() - started >= timeoutMs) {
      return { value: null, waited_ms: Date.now() - started, failure: `${what}: not within ${Math.round(timeoutMs / 1000)} s${lastError ? ` (last error: ${lastError})` : ''}` };
    }
    await delay(Math.min(everyMs, Math.max(0, timeoutMs - (Date.now() - started))));
  }
}

/** fleetview_refreshes as the worker exports it now; null when the endpoint did not answer. */
export async function refreshesCompleted(session: FleetviewSession): Promise<number | null> {
  const samples = await scrapeWorker(session.metricsPort);
  return samples.length === 0 ? null : (counterTotal(samples, 'fleetview_refreshes') ?? 0);
}

/** The cluster workflow's first run's start (epoch ms), once it exists. */
export async function workflowStartMs(client: Client, clusterId: string): Promise<number | null> {
  try {
    const description = await client.withDeadline(Date.now() + 10_000, () => client.workflow.getHandle(clusterWorkflowId(clusterId)).describe());
    return description.startTime.getTime();
  } catch (err) {
    if (/not found/i.test(String(err))) return null;
    throw err;
  }
}

export interface ViewSizes {
  /** Bytes of the `view` query's answer (its payloads, protobuf-encoded), and how long it took. */
  query_bytes: number | null;
  query_ms: number | null;
  query_error: string | null;
  /** `fleetview view CLUSTER`: bytes it printed on stdout, its wall time (tsx start included), exit code, first line of stderr. */
  cli_stdout_bytes: number | null;
  cli_ms: number | null;
  cli_exit: number | null;
  cli_stderr_first_line: string | null;
}

export async function viewSizes(session: FleetviewSession, root: string, clusterId: string): Promise<ViewSizes> {
  const sizes: ViewSizes = { query_bytes: null, query_ms: null, query_error: null, cli_stdout_bytes: null, cli_ms: null, cli_exit: null, cli_stderr_first_line: null };
  const { client, config } = session;
  const started = Date.now();
  try {
    const answer = await client.withDeadline(Date.now() + 60_000, () =>
      client.workflowService.queryWorkflow({
        namespace: config.temporal.namespace,
        execution: { workflowId: clusterWorkflowId(clusterId) },
        query: { queryType: 'view' },
      }),
    );
    sizes.query_ms = Date.now() - started;
    sizes.query_bytes = (answer.queryResult?.payloads ?? []).reduce((total, payload) => total + protoSizer.payload(payload as PayloadShape), 0);
  } catch (err) {
    sizes.query_error = `after ${Date.now() - started} ms: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 200)}`;
  }
  const cliStarted = Date.now();
  const cli = await runCli(root, session.env, ['view', clusterId], 120_000);
  sizes.cli_ms = Date.now() - cliStarted;
  sizes.cli_exit = cli.code;
  sizes.cli_stdout_bytes = Buffer.byteLength(cli.stdout);
  sizes.cli_stderr_first_line = cli.stderr.trim().split('\n')[0]?.slice(0, 200) || null;
  return sizes;
}

export interface FirstRefreshDiagnosis {
  summary: string;
  worker_alive: boolean;
  refreshes_completed: number | null;
  workflow: {
    status: string | null;
    history_length: number | null;
    pending_activities: { type: string; attempt: number; last_failure: string | null }[];
    workflow_task_failures: number | null;
    last_workflow_task_failure: string | null;
    error: string | null;
  };
  /** Warnings and errors the worker logged since it started (its log is kept in the run's log folder). */
  worker_log: { count: number; last: string[] };
}

const workerTrouble = /warn|error|exceed|refus|too large|retry|fail/i;

/** What stood still when a first refresh did not complete: worker, workflow, history, the worker's log. */
export async function diagnoseFirstRefresh(session: FleetviewSession, clusterId: string, reached: string[]): Promise<FirstRefreshDiagnosis> {
  const { client } = session;
  const workflowId = clusterWorkflowId(clusterId);
  const workflow: FirstRefreshDiagnosis['workflow'] = {
    status: null,
    history_length: null,
    pending_activities: [],
    workflow_task_failures: null,
    last_workflow_task_failure: null,
    error: null,
  };
  try {
    const description = await client.withDeadline(Date.now() + 15_000, () => client.workflow.getHandle(workflowId).describe());
    workflow.status = description.status.name;
    workflow.history_length = description.historyLength;
    workflow.pending_activities = (description.raw.pendingActivities ?? []).map((activity) => ({
      type: activity.activityType?.name ?? 'activity',
      attempt: activity.attempt ?? 0,
      last_failure: activity.lastFailure?.message?.slice(0, 200) ?? null,
    }));
    const runs = await fetchRunChain(client, workflowId, 30_000);
    let failures = 0;
    for (const run of runs) {
      for (const event of run.events) {
        const kind = eventKind(event);
        if (kind !== 'workflowTaskFailedEventAttributes' && kind !== 'workflowTaskTimedOutEventAttributes') continue;
        failures += 1;
        const message = attributes<{ failure?: { message?: string | null } | null }>(event, 'workflowTaskFailedEventAttributes')?.failure?.message;
        workflow.last_workflow_task_failure = message ? message.slice(0, 200) : kind === 'workflowTaskTimedOutEventAttributes' ? 'workflow task timed out' : workflow.last_workflow_task_failure;
      }
    }
    workflow.workflow_task_failures = failures;
  } catch (err) {
    workflow.error = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 200);
  }
  const log = grepFrom(session.workerLogFile, 0, workerTrouble, 3);
  const refreshes = await refreshesCompleted(session);
  const workerAlive = !session.worker.exited();
  const summary = [
    ...reached,
    workerAlive ? null : `the worker process died (${session.worker.tail().split('\n').slice(-1)[0] ?? ''})`,
    `fleetview_refreshes ${refreshes ?? 'unknown (no metrics)'}`,
    workflow.status === null ? `workflow ${workflowId}: ${workflow.error ?? 'not found'}` : `workflow ${workflow.status}, ${workflow.history_length} history events, ${workflow.workflow_task_failures ?? '?'} workflow task failures or timeouts`,
    workflow.last_workflow_task_failure ? `last workflow task failure: ${workflow.last_workflow_task_failure}` : null,
    workflow.pending_activities.length > 0
      ? `pending activities: ${workflow.pending_activities.map((a) => `${a.type} attempt ${a.attempt}${a.last_failure ? ` (${a.last_failure})` : ''}`).join('; ')}`
      : null,
    log.count > 0 ? `worker log: ${log.count} warning/error lines, last: ${log.last[log.last.length - 1]}` : 'worker log: no warning or error',
  ]
    .filter(Boolean)
    .join('; ');
  return { summary, worker_alive: workerAlive, refreshes_completed: refreshes, workflow, worker_log: { count: log.count, last: log.last } };
}
