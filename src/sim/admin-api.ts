/**
 * The sim's admin API: scripted faults and changes, applied at once (the next request to a
 * node sees them), each recorded with its time in the change log so tests and benchmarks can
 * measure how long fleetview takes to notice.
 */
import { z } from 'zod';
import { describeIssues } from '../adapters/agent-schema.js';
import { agentModes, SimAdminError } from './fleet.js';
import type { SimFleet } from './fleet.js';
import { nodeUrl } from './discovery-api.js';

export interface AdminAnswer {
  status: number;
  body: unknown;
}

const statePatchSchema = z.strictObject({
  agent: z.enum(agentModes).optional(),
  datastore: z.enum(['up', 'down']).optional(),
  shards: z.enum(['up', 'down']).optional(),
  version: z.string().min(1).max(128).optional(),
  agent_version: z.string().min(1).max(128).optional(),
  cluster_id: z.string().min(1).max(256).optional(),
  slow_ms: z.int().min(0).max(600_000).optional(),
});

const failoverSchema = z.strictObject({ to: z.string().min(1), shard: z.string().min(1).optional() });
const addNodeSchema = z.strictObject({ name: z.string().optional() });
const discoveryFaultSchema = z.strictObject({ fail: z.union([z.boolean(), z.int().min(0).max(1_000_000)]) });

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) throw new SimAdminError(400, `invalid body: ${describeIssues(result.error.issues, 3)}`);
  return result.data;
}

/** Handles `/admin/...`; `segments` is the path split on `/` without the leading `admin`. */
export function handleAdmin(fleet: SimFleet, baseUrl: string, method: string, segments: string[], query: URLSearchParams, body: unknown): AdminAnswer {
  try {
    return route(fleet, baseUrl, method, segments, query, body);
  } catch (error) {
    if (error instanceof SimAdminError) return { status: error.status, body: { error: error.message } };
    throw error;
  }
}

function route(fleet: SimFleet, baseUrl: string, method: string, segments: string[], query: URLSearchParams, body: unknown): AdminAnswer {
  const [first, cluster, second, node, third] = segments;
  if (method === 'GET' && first === 'changes' && segments.length === 1) {
    const since = Number(query.get('since') ?? 0);
    return { status: 200, body: { changes: fleet.changes.filter((change) => change.seq > since) } };
  }
  if (first === 'discovery' && segments.length === 1) {
    if (method === 'GET') return { status: 200, body: { ...fleet.discoveryFault } };
    if (method === 'POST') {
      const change = fleet.setDiscoveryFault(parseBody(discoveryFaultSchema, body).fail);
      return { status: 200, body: { ...fleet.discoveryFault, change } };
    }
  }
  if (method === 'GET' && first === 'clusters' && segments.length === 1) {
    return { status: 200, body: { clusters: [...fleet.clusters.values()].map((c) => clusterSummary(fleet, baseUrl, c.id)) } };
  }
  if (first === 'clusters' && cluster !== undefined) {
    if (method === 'GET' && segments.length === 2) return { status: 200, body: clusterSummary(fleet, baseUrl, cluster) };
    if (method === 'POST' && second === 'failover' && segments.length === 3) {
      const { to, shard } = parseBody(failoverSchema, body);
      return { status: 200, body: { change: fleet.failover(cluster, to, shard) } };
    }
    if (second === 'nodes' && segments.length === 3 && method === 'POST') {
      const { name } = parseBody(addNodeSchema, body);
      const { node: added, change } = fleet.addNode(cluster, name);
      return { status: 201, body: { cluster, node: added.name, node_id: added.nodeId, url: nodeUrl(baseUrl, added), change } };
    }
    if (second === 'nodes' && node !== undefined && segments.length === 4 && method === 'DELETE') {
      return { status: 200, body: { change: fleet.removeNode(cluster, node) } };
    }
    if (second === 'nodes' && node !== undefined && third === 'state' && segments.length === 5 && method === 'POST') {
      const patch = parseBody(statePatchSchema, body);
      const change = fleet.setState(cluster, node, patch);
      return { status: 200, body: { cluster, node, state: fleet.node(cluster, node).state, change } };
    }
  }
  return { status: 404, body: { error: `no admin route ${method} /admin/${segments.join('/')}` } };
}

function clusterSummary(fleet: SimFleet, baseUrl: string, clusterId: string): unknown {
  const cluster = fleet.cluster(clusterId);
  return {
    cluster_id: cluster.id,
    kind: cluster.kind,
    display_name: cluster.displayName,
    nodes: [...cluster.nodes.values()].map((node) => ({ node: node.name, node_id: node.nodeId, url: nodeUrl(baseUrl, node), state: node.state, requests: node.requests })),
    shards: cluster.shards.map((shard) => ({ id: shard.id, primary: shard.primary, replicas: shard.replicas })),
  };
}
