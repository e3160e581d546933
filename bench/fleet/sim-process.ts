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
}

export async function startSimProcess(root: string, logDir: string, clusters: number, nodesPerCluster: number, idPrefix: string): Promise<SimProcess> {
  const group = spawnGroup(
    'sim',
    process.execPath,
    // Node with the tsx loader, not `npm run sim`: one process, whose group is only the sim.
    ['--import', 'tsx', 'src/sim/main.ts', '--clusters', String(clusters), '--nodes', String(nodesPerCluster), '--port', '0', '--id-prefix', idPrefix],
    { cwd: root, logFile: join(logDir, 'sim.log'), pipeStdout: true },
  );
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
      async setState(node, patch) {
        const response = await fetch(`${url}${node.statePath}`, { method: 'POST', body: JSON.stringify(patch), signal: AbortSignal.timeout(10_000) });
        const body = (await response.json()) as { change?: { at_ms?: number }; error?: string };
        if (!response.ok || typeof body.change?.at_ms !== 'number') throw new Error(`sim admin ${node.statePath}: ${response.status} ${body.error ?? ''}`);
        return body.change.at_ms;
      },
    };
  } catch (err) {
    await group.stop();
    throw err;
  }
}

export async function getJson(url: string, timeoutMs = 10_000): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return response.json();
}
