/** Builders for domain tests: short, readable observations, records and refreshes. */
import { aggregate, diff } from '../../src/domain/index.js';
import type {
  AgentInfo,
  ClusterView,
  DatastoreInfo,
  DiscoveryRecord,
  FleetEvent,
  NodeObservation,
  Offset,
  Shard,
  ShardRole,
} from '../../src/domain/index.js';

export const clusterId = 'rs0';
export const graceMs = 10 * 60_000;

/** `node(1)` is `http://mongo-1:37017`. */
export function node(n: number): string {
  return `http://mongo-${n}:37017`;
}

/** The datastore node id of `node(n)`. */
export function nodeId(n: number): string {
  return `mongo-${n}:27017`;
}

/** Workflow time `minutes` after a fixed start. */
export function at(minutes: number): string {
  return new Date(Date.UTC(2026, 10, 24, 10, 0, 0) + minutes * 60_000).toISOString();
}

export function agentInfo(number = '0.3.1'): AgentInfo {
  return { version: { checkout: 'a1b2c3d', number, taint: 'not tainted' } };
}

export function datastoreInfo(n: number, version = '6.0.5'): DatastoreInfo {
  return { cluster_id: clusterId, node_id: nodeId(n), kind: 'mongodb', version, cluster_display_name: null };
}

export function shard(id: string, role: ShardRole, lag: Offset | null = null, offset = 1000): Shard {
  return { id, role, commit_offset: { unit: 'seconds', value: offset }, lag };
}

export function record(nodes: number[], displayName: string | null = 'Orders'): DiscoveryRecord {
  return { cluster_id: clusterId, display_name: displayName, nodes: nodes.map((n) => ({ agent_address: node(n) })) };
}

interface UpOptions {
  agent?: AgentInfo;
  datastore?: DatastoreInfo;
}

export function up(n: number, shards: Shard[] = [], options: UpOptions = {}): NodeObservation {
  return {
    address: node(n),
    status: { code: 'UP' },
    agent: options.agent ?? agentInfo(),
    datastore: options.datastore ?? datastoreInfo(n),
    shards,
    shards_error: null,
  };
}

export function nodeDown(n: number, reason = 'connection refused by mongod', agent: AgentInfo = agentInfo()): NodeObservation {
  return { address: node(n), status: { code: 'NODE_DOWN', reason }, agent, datastore: null, shards: null, shards_error: null };
}

export function agentDown(n: number, reason = 'connect ECONNREFUSED'): NodeObservation {
  return { address: node(n), status: { code: 'AGENT_DOWN', reason }, agent: null, datastore: null, shards: null, shards_error: null };
}

export function shardsFailed(n: number, error = 'HTTP 500: not master'): NodeObservation {
  return { ...up(n), shards: null, shards_error: error };
}

export interface Refresh {
  view: ClusterView;
  events: FleetEvent[];
}

/** One refresh: aggregate then diff. */
export function refresh(
  previous: ClusterView | null,
  discovery: DiscoveryRecord,
  observations: NodeObservation[],
  refreshedAt: string,
  nodeRetireGraceMs = graceMs,
): Refresh {
  const view = aggregate(previous, discovery, observations, refreshedAt, { nodeRetireGraceMs });
  return { view, events: diff(previous, view) };
}

/** `EVENT address-or-shard` lines: compact and readable in assertion diffs. */
export function summary(events: readonly FleetEvent[]): string[] {
  return events.map((event) => {
    const payload = event.payload as { address?: string; shard_id?: string };
    const subject = payload.address ?? payload.shard_id ?? '';
    return `${event.event} ${subject}`.trim();
  });
}
