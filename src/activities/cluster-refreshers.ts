/**
 * Discovery's hands on the cluster refresh workflows, through the Temporal client: start the
 * workflows of new clusters, deliver new records (signal-with-start), pause the new clusters of a
 * paused discovery, make sure every listed cluster has its refresher, tell retired clusters to
 * finish. Every call is idempotent, so a retried activity repeats them harmlessly.
 */
import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { windowActive } from '../domain/cluster-controls.js';
import type { DiscoveryRecord } from '../domain/discovery-record.js';
import { clusterWorkflowId } from '../domain/ids.js';
import {
  clusterIdSearchAttribute,
  clusterRefreshWorkflowType,
  clusterWorkflowTaskTimeout,
  nodesSignal,
  pauseUpdate,
  retireSignal,
  type ClusterRefreshInput,
  type ClusterRefreshWorkflow,
  type DiscoveryRecordInput,
} from '../workflows/messages.js';
import type { DiscoveryDependencies } from './discovery-dependencies.js';
import { forEachLimited } from '../for-each-limited.js';

/** Calls in flight per activity: enough to hide RPC latency, few enough to be gentle on the server. */
const concurrency = 8;

/** `work` over `items`, `concurrency` at a time, heartbeating after each. */
async function forEachHeartbeating<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  await forEachLimited(items, concurrency, async (item) => {
    await work(item);
    Context.current().heartbeat();
  });
}

/** Which of these clusters have a running refresher, by the ClusterId search attribute. */
async function runningRefreshers(client: Client['workflow'], clusterIds: readonly string[]): Promise<Set<string>> {
  const wanted = new Set(clusterIds);
  const running = new Set<string>();
  const query = `WorkflowType = '${clusterRefreshWorkflowType}' AND ExecutionStatus = 'Running'`;
  for await (const execution of client.list({ query, pageSize: 1000 })) {
    const clusterId = execution.workflowId.slice(clusterWorkflowId('').length);
    if (wanted.has(clusterId)) running.add(clusterId);
    Context.current().heartbeat();
  }
  return running;
}

export interface EnsureRefreshersInput {
  /** New and changed records: each delivered by signal-with-start. */
  changed: DiscoveryRecord[];
  /** Listed clusters whose record did not change: started again only when their workflow is gone. */
  unchanged: string[];
  /** Two intervals of the discovery: how long a dropped node stays before NODE_RETIRED. */
  node_retire_grace_s: number;
  /** The discovery of the run (absent in runs recorded before discovery pauses). */
  discovery?: string;
  /** Clusters of `changed` seen for the first time: paused at start while their discovery is paused. */
  new_clusters?: string[];
}

/** Bound of one pause update: a new workflow answers once a worker has run its first task. */
const pauseUpdateMs = 20_000;

export function ensureClusterRefreshersActivity(deps: DiscoveryDependencies) {
  // The flat settings are the default layer (this worker's configuration and two intervals of
  // the discovery); the record's own settings are the discovery's layer, above them (a large
  // cluster refreshed less often), and the operator's above both (the workflow holds them).
  const startInput = (record: DiscoveryRecord, graceS: number): ClusterRefreshInput => ({
    ...record,
    refresh_interval_s: deps.refreshIntervalS,
    node_retire_grace_s: graceS,
    cluster_retire_grace_s: graceS,
  });
  // What every start of a cluster's workflow sets, whichever call makes it.
  const startOptions = (workflowInput: ClusterRefreshInput) => ({
    taskQueue: deps.taskQueue,
    workflowId: clusterWorkflowId(workflowInput.cluster_id),
    args: [workflowInput] as [ClusterRefreshInput],
    workflowTaskTimeout: clusterWorkflowTaskTimeout,
    // Set at start, so a new cluster's workflow is listable by cluster id before its first task.
    typedSearchAttributes: [{ key: clusterIdSearchAttribute, value: workflowInput.cluster_id }],
  });

  /**
   * A cluster new to discovery usually has no workflow at all: it is started under the reuse
   * policy REJECT_DUPLICATE, which Temporal refuses, atomically, while any run of the ID is
   * running or kept (within retention). Started so, the run knows it has no predecessor and skips
   * looking for one (a visibility query per new cluster). Refused (a cluster listed again after
   * its retirement, a run started by hand), it takes signal-with-start like any other. False when refused.
   */
  async function startAsFirstRun(client: Client['workflow'], record: DiscoveryRecord, graceS: number): Promise<boolean> {
    try {
      await client.start<ClusterRefreshWorkflow>(clusterRefreshWorkflowType, {
        ...startOptions({ ...startInput(record, graceS), no_earlier_run: true }),
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
      });
      return true;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
      throw err;
    }
  }

  return async function ensureClusterRefreshers(input: EnsureRefreshersInput): Promise<{ signaled: number; checked: number; restarted: number }> {
    const client = deps.temporal.workflow;
    const fresh = new Set(input.new_clusters ?? []);
    await forEachHeartbeating(input.changed, async (record) => {
      if (fresh.has(record.cluster_id) && (await startAsFirstRun(client, record, input.node_retire_grace_s))) return;
      // Signal-with-start is one atomic call: it starts the workflow with the record as its input,
      // or, when the workflow runs already, only delivers the record (the input is then ignored).
      await client.signalWithStart<ClusterRefreshWorkflow, [DiscoveryRecordInput]>(clusterRefreshWorkflowType, {
        ...startOptions(startInput(record, input.node_retire_grace_s)),
        signal: nodesSignal,
        signalArgs: [record],
      });
    });
    await pauseNewClusters(deps, input);
    // An unchanged cluster whose workflow was terminated or failed gets it back. One visibility
    // query finds the running refreshers, so a quiet listing of a thousand clusters costs a page
    // or two, not a thousand calls. Visibility lags a little: a workflow started a moment ago may
    // be missing from it, and is then "started" again with USE_EXISTING, which leaves it untouched.
    const running = input.unchanged.length > 0 ? await runningRefreshers(client, input.unchanged) : new Set<string>();
    const stored = await deps.store.loadActive(input.unchanged.filter((clusterId) => !running.has(clusterId)));
    await forEachHeartbeating([...stored.values()], async (doc) => {
      await client.start<ClusterRefreshWorkflow>(clusterRefreshWorkflowType, {
        ...startOptions(startInput(doc.record, input.node_retire_grace_s)),
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
    });
    return { signaled: input.changed.length, checked: input.unchanged.length, restarted: stored.size };
  };
}

/**
 * A paused discovery's new clusters get its pause through their workflow's pause update (the
 * same as `fleetview discovery pause` sends), so they never poll while it lasts. The pause is read
 * after their starts: a pause stored meanwhile is either seen here or, once the run has saved the
 * listing, found by the CLI's fan-out. The update id makes a retried activity's updates one each.
 */
async function pauseNewClusters(deps: DiscoveryDependencies, input: EnsureRefreshersInput): Promise<void> {
  const fresh = input.new_clusters ?? [];
  if (input.discovery === undefined || fresh.length === 0) return;
  const pause = await deps.store.getPause(input.discovery);
  if (!windowActive(pause, Date.now())) return;
  const client = deps.temporal;
  const request = { reason: pause.reason, until: pause.until, actor: pause.actor };
  await forEachHeartbeating(fresh, async (clusterId) => {
    await client.withDeadline(Date.now() + pauseUpdateMs, () =>
      client.workflow.getHandle(clusterWorkflowId(clusterId)).executeUpdate(pauseUpdate, { args: [request], updateId: `discovery-pause/${input.discovery}/${pause.since}` }),
    );
  });
}

export interface RetireRequest {
  cluster_id: string;
  reason: string;
  retired_run: string;
}

export function retireClusterRefreshersActivity(deps: DiscoveryDependencies) {
  return async function retireClusterRefreshers(input: { clusters: RetireRequest[] }): Promise<{ signaled: number; gone: number }> {
    let signaled = 0;
    let gone = 0;
    await forEachHeartbeating(input.clusters, async (cluster) => {
      try {
        await deps.temporal.workflow.getHandle(clusterWorkflowId(cluster.cluster_id)).signal(retireSignal, { reason: cluster.reason });
        signaled += 1;
      } catch (err) {
        // Already finished (or terminated by an operator): nothing left to tell.
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        gone += 1;
      }
      await deps.store.completeRetirement(cluster.cluster_id, cluster.retired_run);
    });
    return { signaled, gone };
  };
}
