/**
 * The fleet page's calls to a cluster's workflow, each bounded: a page of its view (the `view`
 * query), which run is current (describe, for the Web UI link), and a refresh now (the
 * `refreshNow` update). Built once per server on the server's Temporal client. Failures are
 * answers the page shows, never exceptions: a page must render whatever Temporal does.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { clusterWorkflowId } from '../domain/ids.js';
import type { ViewPageRequest } from '../domain/view-page.js';
import { refreshNowUpdate, viewQuery, type RefreshReport, type ViewQueryResult } from '../workflows/messages.js';
import { within } from './deadline.js';

export type ViewAnswer =
  | { kind: 'answered'; results: ViewQueryResult[]; runId: string | null; status: string | null }
  | { kind: 'not-found' }
  | { kind: 'no-answer'; problem: string };

export type RefreshOutcome = { ok: true; report: RefreshReport } | { ok: false; problem: string };

export interface ClusterControl {
  /** One `view` answer per request (the same order), asked together, within the query timeout. */
  view(clusterId: string, requests: ViewPageRequest[]): Promise<ViewAnswer>;
  refreshNow(clusterId: string): Promise<RefreshOutcome>;
}

export interface ClusterControlOptions {
  client: Client;
  /** Bound of the view query and of describe (with no worker polling, a query waits for this long). */
  queryTimeoutMs: number;
  /** Bound of a refreshNow update: the refresh it causes must finish within it. */
  refreshTimeoutMs: number;
  /** Named in the message of a refresh that did not happen in time. */
  taskQueue: string;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);

export function createClusterControl(options: ClusterControlOptions): ClusterControl {
  const { client, queryTimeoutMs, refreshTimeoutMs } = options;

  /** `work` under a gRPC deadline, and a timer a little past it in case a call does not honour it. */
  const bounded = <T>(timeoutMs: number, what: string, work: () => Promise<T>): Promise<T> =>
    within(
      client.withDeadline(Date.now() + timeoutMs, work),
      timeoutMs + 1_000,
      what,
    );

  return {
    async view(clusterId, requests) {
      const workflowId = clusterWorkflowId(clusterId);
      const handle = client.workflow.getHandle(workflowId);
      try {
        const [description, ...results] = await Promise.all([
          bounded(queryTimeoutMs, `describing ${workflowId}`, () => handle.describe()),
          ...requests.map((request) => bounded(queryTimeoutMs, `the view query of ${workflowId}`, () => handle.query(viewQuery, request))),
        ]);
        return { kind: 'answered', results, runId: description.runId, status: description.status.name };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { kind: 'not-found' };
        return { kind: 'no-answer', problem: `no answer from ${workflowId} within ${queryTimeoutMs} ms (${message(err)}): is a worker polling task queue ${options.taskQueue}?` };
      }
    },

    async refreshNow(clusterId) {
      const workflowId = clusterWorkflowId(clusterId);
      try {
        const report = await bounded(refreshTimeoutMs, `the refresh of ${clusterId}`, () => client.workflow.getHandle(workflowId).executeUpdate(refreshNowUpdate));
        return { ok: true, report };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { ok: false, problem: `no running workflow ${workflowId}: the cluster is not refreshed (retired, or never started)` };
        if (err instanceof WorkflowUpdateFailedError) return { ok: false, problem: `the refresh of ${clusterId} failed: ${message(err.cause ?? err)}` };
        if (/already completed/i.test(message(err))) return { ok: false, problem: `${workflowId} has completed (the cluster was retired): nothing refreshes it` };
        if (/deadline|no answer within/i.test(message(err))) {
          return { ok: false, problem: `no refresh of ${clusterId} within ${refreshTimeoutMs / 1000} s: is a worker polling task queue ${options.taskQueue}?` };
        }
        return { ok: false, problem: `the refresh of ${clusterId} could not be asked for: ${message(err)}` };
      }
    },
  };
}
