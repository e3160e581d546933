import { Context } from '@temporalio/activity';
import type { AgentClient } from '../adapters/agent-client.js';
import type { NodeObservation } from '../domain/observation.js';

export interface ObserveClusterInput {
  cluster_id: string;
  /** The agent addresses of the nodes discovery lists. */
  addresses: string[];
  /** null: the worker's configured agent timeout. */
  timeout_ms: number | null;
}

/**
 * Calls every node's agent, a bounded number of nodes at a time (per cluster and per worker:
 * FLEETVIEW_AGENT_MAX_CONCURRENT_NODES*), in one activity per refresh (a local activity: one
 * history event, not three per node). Node problems come back as each observation's status, never as a
 * failure; a cancelled activity stops waiting for the agents.
 */
export function observeClusterActivity(agents: AgentClient) {
  return async function observeCluster(input: ObserveClusterInput): Promise<NodeObservation[]> {
    const context = Context.current();
    const observations = await agents.observeAll(input.addresses, input.cluster_id, { timeoutMs: input.timeout_ms ?? undefined, signal: context.cancellationSignal });
    const failures = context.metricMeter.createCounter('fleetview_node_fetch_failures', 'count', 'node observations that were not UP, by status');
    for (const observation of observations) {
      if (observation.status.code !== 'UP') failures.add(1, { status: observation.status.code });
    }
    return observations;
  };
}
