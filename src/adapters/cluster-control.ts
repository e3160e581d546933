/**
 * The fleet page's calls to a cluster's workflow, each bounded: a page of its view (the `view`
 * query), which run is current (describe, for the Web UI link), a refresh now (the `refreshNow`
 * update) and the operator's pause, resume and maintenance (their updates, naming who asks). Built once per server on the server's Temporal client. Failures are
 * answers the page shows, never exceptions: a page must render whatever Temporal does.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { clusterWorkflowId } from '../domain/ids.js';
import type { ViewPageRequest } from '../domain/view-page.js';
import type { Actor } from '../domain/cluster-controls.js';
import {
  maintenanceUpdate,
  pauseUpdate,
  refreshNowByUpdate,
  refreshNowUpdate,
  resumeUpdate,
  viewQuery,
  type ControlsResult,
  type RefreshReport,
  type ViewQueryResult,
} from '../workflows/messages.js';
import { within } from './deadline.js';

export type ViewAnswer =
  | { kind: 'answered'; results: ViewQueryResult[]; runId: string | null; status: string | null }
  | { kind: 'not-found' }
  | { kind: 'no-answer'; problem: string };

export type RefreshOutcome = { ok: true; report: RefreshReport } | { ok: false; problem: string };

/** An operator's pause, resume or maintenance, as the fleet page asks for it (checked before it is sent). */
export type ControlAction =
  | { kind: 'pause'; reason: string; for_s: number | null }
  | { kind: 'resume' }
  | { kind: 'maintenance'; reason: string; for_s: number }
  | { kind: 'end-maintenance' };

export type ControlOutcome = { ok: true; action: ControlAction['kind']; result: ControlsResult } | { ok: false; action: ControlAction['kind']; problem: string };

export interface ClusterControl {
  /** One `view` answer per request (the same order), asked together, within the query timeout. */
  view(clusterId: string, requests: ViewPageRequest[]): Promise<ViewAnswer>;
  /** With an actor, the refresh is an operator's: its workflow emits CLUSTER_REFRESH_REQUESTED naming them. */
  refreshNow(clusterId: string, actor?: Actor): Promise<RefreshOutcome>;
  control(clusterId: string, action: ControlAction, actor: Actor): Promise<ControlOutcome>;
}

export interface ClusterControlOptions {
  client: Client;
  /** Bound of the view query and of describe (with no worker polling, a query waits for this long). */
  queryTimeoutMs: number;
  /** Bound of a refreshNow update: the refresh it causes must finish within it. */
  refreshTimeoutMs: number;
  /** Named in the message of a refresh that did not happen in time. */
  taskQueue: string;
  /** Bound of a pause, resume or maintenance update (it waits for its audit event and the store, briefly). */
  controlTimeoutMs?: number;
}

export const defaultControlTimeoutMs = 15_000;

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

    async refreshNow(clusterId, actor) {
      const workflowId = clusterWorkflowId(clusterId);
      try {
        const handle = client.workflow.getHandle(workflowId);
        const report = await bounded(refreshTimeoutMs, `the refresh of ${clusterId}`, () =>
          actor ? handle.executeUpdate(refreshNowByUpdate, { args: [{ actor }] }) : handle.executeUpdate(refreshNowUpdate),
        );
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

    async control(clusterId, action, actor) {
      const workflowId = clusterWorkflowId(clusterId);
      const timeoutMs = options.controlTimeoutMs ?? defaultControlTimeoutMs;
      const handle = client.workflow.getHandle(workflowId);
      const send = (): Promise<ControlsResult> => {
        switch (action.kind) {
          case 'pause':
            return handle.executeUpdate(pauseUpdate, { args: [{ reason: action.reason, ...(action.for_s === null ? {} : { for_s: action.for_s }), actor }] });
          case 'resume':
            return handle.executeUpdate(resumeUpdate, { args: [{ actor }] });
          case 'maintenance':
            return handle.executeUpdate(maintenanceUpdate, { args: [{ reason: action.reason, for_s: action.for_s, actor }] });
          case 'end-maintenance':
            return handle.executeUpdate(maintenanceUpdate, { args: [{ end: true, actor }] });
        }
      };
      try {
        return { ok: true, action: action.kind, result: await bounded(timeoutMs, `the ${action.kind} of ${clusterId}`, send) };
      } catch (err) {
        const fail = (problem: string): ControlOutcome => ({ ok: false, action: action.kind, problem });
        if (err instanceof WorkflowNotFoundError) return fail(`no running workflow ${workflowId}: the cluster is not refreshed (retired, or never started)`);
        // The workflow's validator refused it (it names the field and the value), or its handler failed.
        if (err instanceof WorkflowUpdateFailedError) return fail(`${workflowId} refused it: ${message(err.cause ?? err)}`);
        if (/already completed/i.test(message(err))) return fail(`${workflowId} has completed (the cluster was retired)`);
        if (/deadline|no answer within/i.test(message(err))) return fail(`no answer from ${workflowId} within ${timeoutMs / 1000} s: is a worker polling task queue ${options.taskQueue}?`);
        return fail(`the ${action.kind} of ${clusterId} could not be asked for: ${message(err)}`);
      }
    },
  };
}
