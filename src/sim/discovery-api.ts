/**
 * The sim's discovery endpoints: the Replicante HTTP protocol (`/discovery`, cursor pages) and
 * Prometheus http_sd (`/http_sd`). Bodies are rebuilt only when nodes join or leave.
 */
import type { SimFleet, SimNode } from './fleet.js';

export interface SimDiscoveryRecord {
  cluster_id: string;
  display_name: string;
  nodes: string[];
}

/**
 * The label that carries each node's agent base URL in /http_sd. Sim nodes share one host:port
 * and differ by path, so the target alone cannot name a node; `__meta_*` labels are Prometheus'
 * convention for discovery metadata (dropped after relabeling). The http_sd source reads its
 * `address_label` option (this name by default) and falls back to `<scheme>://<target>`.
 */
export const agentAddressLabel = '__meta_agent_address';
export const clusterIdLabel = 'cluster_id';
export const displayNameLabel = '__meta_cluster_display_name';

export function nodeUrl(baseUrl: string, node: SimNode): string {
  return `${baseUrl}/c/${node.cluster.id}/n/${node.name}`;
}

export function discoveryRecords(fleet: SimFleet, baseUrl: string): SimDiscoveryRecord[] {
  return [...fleet.clusters.values()].map((cluster) => ({
    cluster_id: cluster.id,
    display_name: cluster.displayName,
    nodes: [...cluster.nodes.values()].map((node) => nodeUrl(baseUrl, node)),
  }));
}

/** A page of the Replicante protocol; the cursor is the index of the next record. */
export function discoveryPage(
  records: readonly SimDiscoveryRecord[],
  cursor: string | null,
  pageSize: number,
): { clusters: SimDiscoveryRecord[]; cursor: string | null } | { error: string } {
  let start = 0;
  if (cursor !== null) {
    const match = /^i(\d+)$/.exec(cursor);
    if (!match) return { error: `invalid cursor ${JSON.stringify(cursor)}` };
    start = Number(match[1]);
  }
  const end = start + pageSize;
  return { clusters: records.slice(start, end), cursor: end < records.length ? `i${end}` : null };
}

export function httpSdGroups(fleet: SimFleet, baseUrl: string): { targets: string[]; labels: Record<string, string> }[] {
  const target = new URL(baseUrl).host;
  const groups = [];
  for (const cluster of fleet.clusters.values()) {
    for (const node of cluster.nodes.values()) {
      const url = nodeUrl(baseUrl, node);
      groups.push({
        targets: [target],
        labels: {
          [clusterIdLabel]: cluster.id,
          [displayNameLabel]: cluster.displayName,
          [agentAddressLabel]: url,
          // Lets a real Prometheus scrape each simulated node's /metrics from this same list.
          __metrics_path__: `${new URL(url).pathname}/metrics`,
        },
      });
    }
  }
  return groups;
}
