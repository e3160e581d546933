/** A simulated node's `{base}/metrics`, in the Prometheus text exposition format. */
import type { SimFleet, SimNode } from './fleet.js';

export const metricsContentType = 'text/plain; version=0.0.4; charset=utf-8';

export function nodeMetrics(fleet: SimFleet, node: SimNode): string {
  const lines = [
    '# HELP fleetview_sim_shard_role Role this node reports for each shard it holds (1 for its current role).',
    '# TYPE fleetview_sim_shard_role gauge',
  ];
  for (const shard of fleet.shardsOf(node)) {
    lines.push(`fleetview_sim_shard_role{shard="${escapeLabel(shard.id)}",role="${shard.role}"} 1`);
  }
  lines.push(
    '# HELP fleetview_sim_datastore_up Whether the simulated datastore answers (1) or not (0).',
    '# TYPE fleetview_sim_datastore_up gauge',
    `fleetview_sim_datastore_up ${node.state.datastore === 'up' ? 1 : 0}`,
    '# HELP fleetview_sim_agent_requests_total Requests this simulated agent has received, by endpoint.',
    '# TYPE fleetview_sim_agent_requests_total counter',
  );
  for (const [endpoint, count] of Object.entries(node.requests)) {
    lines.push(`fleetview_sim_agent_requests_total{endpoint="${endpoint}"} ${count}`);
  }
  return `${lines.join('\n')}\n`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
