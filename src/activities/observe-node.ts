import { Context } from '@temporalio/activity';
import type { AgentClient } from '../adapters/agent-client.js';
import type { NodeObservation } from '../domain/observation.js';

export interface ObserveNodeInput {
  cluster_id: string;
  address: string;
  /** null: the worker's configured agent timeout. */
  timeout_ms: number | null;
}

/** Calls one node's agent. Node problems come back as the observation's status, never as a failure. */
export function observeNodeActivity(agents: AgentClient) {
  return async function observeNode(input: ObserveNodeInput): Promise<NodeObservation> {
    const observation = await agents.observe(input.address, input.cluster_id, input.timeout_ms ?? undefined);
    if (observation.status.code !== 'UP') {
      Context.current()
        .metricMeter.createCounter('fleetview_node_fetch_failures', 'count', 'node observations that were not UP, by status')
        .add(1, { status: observation.status.code });
    }
    return observation;
  };
}
