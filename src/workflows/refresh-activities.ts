/**
 * The activities of the cluster refresh workflow, with their options: workflow-safe proxies (the
 * activities themselves run in the worker). Two kinds: local ones for the refresh's own steps
 * (no extra workflow task, no history beyond a marker), and one durable publish that holds
 * events while Kafka is down.
 */
import { proxyActivities, proxyLocalActivities, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ClusterView } from '../domain/cluster-view.js';

/**
 * Events per durable publish activity (about 1.2 MB: its input goes to the store through External
 * Storage, history keeps a reference). A first refresh of 100,000 events is some 50 activities.
 */
export const publishBatchSize = 2_000;

/** While Kafka is down the events are held here and retried until they are out. */
const durableRetry: ActivityOptions = {
  // Generous for one batch; short enough that work lost with a dead worker is retried soon.
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
};

export const { publishEvents } = proxyActivities<Activities>(durableRetry);

/**
 * A new workflow reads where to resume once: the stored view, and the generation its
 * predecessor may have published (the cluster's documents and a visibility list; local, no extra
 * task). Rebuilding a 2,000 × 50 view from its 106,000 documents took 10 to 26 s on 2 cores.
 */
const resumeOptions: LocalActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' },
};
export const { loadResumePoint } = proxyLocalActivities<Activities>(resumeOptions);

/**
 * A slot timer is computed from workflow time, which stands at the start of the task or the end
 * of its last local activity, but starts when the task completes. After a large cluster's
 * refresh, aggregating and diffing its view in the task takes up to seconds (1 to 2.5 s at
 * 2,000 × 50): the timer would fire that late. So a refresh of at least this many nodes and
 * shards reads the worker's clock (a local activity, recorded: replay gives the same timer) and
 * times the slot from it; below it the work takes milliseconds, less than the read costs.
 */
export const slotClockThreshold = 2_000;
export const { readClock } = proxyLocalActivities<Activities>({ startToCloseTimeout: '5 seconds', retry: { maximumAttempts: 2 } });

/**
 * An operator's change is recorded (audit events out, controls stored) before its update
 * answers, up to this long; past it the update answers `recorded: false` and recording goes on.
 */
export const recordWaitMs = 30_000;
export const { recordControls } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  scheduleToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});
export const { loadStoredView } = proxyLocalActivities<{ loadStoredView(clusterId: string): Promise<ClusterView | null> }>(resumeOptions);

/**
 * The commit of a refresh: publish, then store with a bounded wait. A Kafka hiccup is retried
 * here, locally; one that outlasts this budget moves to the durable publish above.
 */
export const { commitRefresh } = proxyLocalActivities<Activities>({
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

/** The node observations of one refresh of `nodes` nodes: in full (runs before deltas), or as changes. */
export function observeActivities(nodes: number, timeoutMs: number | null) {
  return proxyLocalActivities<Pick<Activities, 'observeCluster' | 'observeClusterChanges'>>(observeOptions(nodes, timeoutMs));
}
