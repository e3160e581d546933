/**
 * The simulated fleet in its own process (so its CPU is measured apart from the worker's), and
 * what the benchmark asks of it over HTTP: the node list, node faults through the admin API
 * (with the time the sim recorded for each change), and its request counters.
 */
import { join } from 'node:path';
import { spawnGroup, waitForLine, type ChildGroup } from './processes.js';

export interface SimNode {
  clusterId: string;
  /** The node's agent base URL: what fleetview's events and the scrape targets carry. */
  address: string;
  /** The path of the admin API that sets this node's state. */
  statePath: string;
}

export interface SimProcess {
  url: string;
  group: ChildGroup;
  nodes: SimNode[];
  clusterIds: string[];
  /** Agent API and /metrics requests served to nodes so far. */
  nodeRequests(): Promise<number>;
  /** Applies a state patch to a node; resolves with the change's time as the sim recorded it (epoch ms). */
  setState(node: SimNode, patch: Record<string, string>): Promise<number>;
  /** Makes node `to` the primary (leader) of one shard; resolves with the change's time (epoch ms). */
  failover(clusterId: string, to: string, shard: string): Promise<number>;
  /** The admin API's summary of a cluster: its nodes and every shard with its replicas and primary. */
  cluster(clusterId: string): Promise<SimClusterSummary>;
  /** The same for every cluster of the sim, in one request. */
  clusters(): Promise<SimClusterSummary[]>;
}

export interface SimClusterSummary {
  cluster_id: string;
  kind: string;
  nodes: { node: string; url: string }[];
  shards: { id: string; primary: string | null; replicas: string[] }[];
}

/** What the sim's command line may add to the fleet's size: the kinds (round-robin) and each Kafka-like cluster's partitions. */
export interface SimShapeOptions {
  kinds?: readonly string[];
  partitions?: number;
}

export async function startSimProcess(
  root: string,
  logDir: string,
  clusters: number,
  nodesPerCluster: number,
  idPrefix: string,
  shape: SimShapeOptions = {},
  name = 'sim',
): Promise<SimProcess> {
  const args = ['--import', 'tsx', 'src/sim/main.ts', '--clusters', String(clusters), '--nodes', String(nodesPerCluster), '--port', '0', '--id-prefix', idPrefix];
  if (shape.kinds !== undefined) args.push('--kinds', shape.kinds.join(','));
  if (shape.partitions !== undefined) args.push('--partitions', String(shape.partitions));
  // Node with the tsx loader, not `npm run sim`: one process, whose group is only the sim.
  const group = spawnGroup(name, process.execPath, args, { cwd: root, logFile: join(logDir, `${name}.log`), pipeStdout: true });
  try {
    const url = (await waitForLine(group, /^sim ready (\S+)$/, 60_000))[1]!;
    const { clusters: records } = (await getJson(`${url}/discovery`)) as { clusters: { cluster_id: string; nodes: string[] }[] };
    const nodes = records.flatMap((record) =>
      record.nodes.map((address) => ({
        clusterId: record.cluster_id,
        address,
        statePath: `/admin/clusters/${encodeURIComponent(record.cluster_id)}/nodes/${encodeURIComponent(address.slice(address.lastIndexOf('/') + 1))}/state`,
      })),
    );
    return {
      url,
      group,
      nodes,
      clusterIds: records.map((record) => record.cluster_id),
      async nodeRequests() {
        return ((await getJson(`${url}/admin/stats`)) as { node_requests: number }).node_requests;
      },
      setState(node, patch) {
        return postChange(url, node.statePath, patch);
      },
      failover(clusterId, to, shard) {
        return postChange(url, `/admin/clusters/${encodeURIComponent(clusterId)}/failover`, { to, shard });
      },
      async cluster(clusterId) {
        return (await getJson(`${url}/admin/clusters/${encodeURIComponent(clusterId)}`, 60_000)) as SimClusterSummary;
      },
      async clusters() {
        return ((await getJson(`${url}/admin/clusters`, 60_000)) as { clusters: SimClusterSummary[] }).clusters;
      },
    };
  } catch (err) {
    await group.stop();
    throw err;
  }
}

/** An admin change; resolves with its time as the sim recorded it (epoch ms). */
async function postChange(url: string, path: string, body: unknown): Promise<number> {
  const response = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  const answer = (await response.json()) as { change?: { at_ms?: number }; error?: string };
  if (!response.ok || typeof answer.change?.at_ms !== 'number') throw new Error(`sim admin ${path}: ${response.status} ${answer.error ?? ''}`);
  return answer.change.at_ms;
}

export async function getJson(url: string, timeoutMs = 10_000): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return response.json();
}
