/**
 * Cluster views for store tests and measurements, built by the real aggregate: a Kafka-like
 * cluster of N brokers × S partition copies each (three replicas per partition, the first its
 * leader), as the sim and bench:large shape them, and the refreshes that follow it.
 */
import { aggregate } from '../../src/domain/aggregate.js';
import type { ClusterView } from '../../src/domain/cluster-view.js';
import type { DiscoveryRecord } from '../../src/domain/discovery-record.js';
import type { NodeObservation, Shard } from '../../src/domain/observation.js';

export interface KafkaShape {
  clusterId: string;
  nodes: number;
  /** Partition copies per broker. */
  shardsPerNode: number;
}

export function brokerAddress(clusterId: string, n: number): string {
  return `http://${clusterId}-broker-${n}.example:9644`;
}

export function kafkaRecord(shape: KafkaShape): DiscoveryRecord {
  return {
    cluster_id: shape.clusterId,
    display_name: `Kafka ${shape.clusterId}`,
    nodes: Array.from({ length: shape.nodes }, (_, n) => ({ agent_address: brokerAddress(shape.clusterId, n), node_class: 'broker', node_group: `rack-${n % 3}` })),
  };
}

/** Every broker up, each holding its partition copies (N·S/3 partitions of three replicas). */
export function kafkaObservations(shape: KafkaShape, offset = 1000): NodeObservation[] {
  const replicas = Math.min(3, shape.nodes);
  const partitions = Math.max(1, Math.round((shape.nodes * shape.shardsPerNode) / replicas));
  const shards: Shard[][] = Array.from({ length: shape.nodes }, () => []);
  for (let p = 0; p < partitions; p++) {
    for (let r = 0; r < replicas; r++) {
      shards[(p + r) % shape.nodes]!.push({
        id: `events-${p}`,
        role: r === 0 ? 'primary' : 'secondary',
        commit_offset: { unit: 'seconds', value: offset + p },
        lag: r === 0 ? null : { unit: 'seconds', value: r },
      });
    }
  }
  return shards.map((held, n) => ({
    address: brokerAddress(shape.clusterId, n),
    status: { code: 'UP' },
    agent: { version: { checkout: 'f00dfee', number: '0.3.1', taint: 'not tainted' } },
    datastore: { cluster_id: `${shape.clusterId}-kafka`, node_id: String(n), kind: 'kafka', version: '3.7.0', cluster_display_name: null },
    shards: held,
    shards_error: null,
  }));
}

/** Refresh `minutes` after a fixed start. */
export function refreshTime(minutes: number): string {
  return new Date(Date.UTC(2026, 10, 24, 10, 0, 0) + minutes * 60_000).toISOString();
}

/** The next refresh of the cluster with every broker as before: only measurements move. */
export function quietRefresh(previous: ClusterView | null, shape: KafkaShape, minute: number): ClusterView {
  return aggregate(previous, kafkaRecord(shape), kafkaObservations(shape, 1000 + minute), refreshTime(minute), { nodeRetireGraceMs: 600_000 });
}

/**
 * Two refreshes of a cluster with every kind of field: hints from discovery, a name from a
 * datastore, unknown roles, custom offset units, no shards and no shard report, nodes down both
 * ways with their last known data, a failed shards call, a node leaving discovery.
 */
export function variedViews(clusterId: string) {
  const address = (n: number) => `http://${clusterId}-n${n}:9644`;
  const record = (nodes: number[]): DiscoveryRecord => ({
    cluster_id: clusterId,
    // No name from discovery: the view takes the one a datastore reports.
    display_name: null,
    nodes: nodes.map((n) => (n === 1 ? { agent_address: address(n), node_id: 'hinted-1', node_class: 'broker', node_group: 'az-1' } : { agent_address: address(n) })),
  });
  const agent = { version: { checkout: 'c0ffee1', number: '0.3.1', taint: 'not tainted' } };
  const datastore = (n: number) => ({ cluster_id: `${clusterId}-ds`, node_id: `node-${n}`, kind: 'kafka', version: '3.7.0', cluster_display_name: n === 3 ? 'Orders DS' : null });
  const upNode = (n: number, shards: Shard[] | null): NodeObservation => ({ address: address(n), status: { code: 'UP' }, agent, datastore: datastore(n), shards, shards_error: null });
  const customUnit = { unit: 'kafka-offset' };
  const shards1: Shard[] = [
    { id: 's0', role: 'primary', commit_offset: { unit: 'seconds', value: 100 }, lag: null },
    { id: 's1', role: 'secondary', commit_offset: { unit: customUnit, value: 12_345_678_901 }, lag: { unit: customUnit, value: 7 } },
    { id: 's2', role: { unknown: 'Observer' }, commit_offset: null, lag: { unit: 'seconds', value: 2.5 } },
  ];
  const first: NodeObservation[] = [
    upNode(1, shards1),
    upNode(2, []),
    upNode(3, [{ id: 's0', role: 'secondary', commit_offset: { unit: 'seconds', value: 99 }, lag: { unit: 'seconds', value: 1 } }]),
    upNode(4, [{ id: 's1', role: 'primary', commit_offset: null, lag: null }]),
    upNode(5, [{ id: 's2', role: 'primary', commit_offset: null, lag: null }]),
    { address: address(6), status: { code: 'AGENT_DOWN', reason: 'connect ECONNREFUSED' }, agent: null, datastore: null, shards: null, shards_error: null },
    upNode(7, [{ id: 's3', role: 'primary', commit_offset: null, lag: null }]),
    upNode(8, [{ id: 's4', role: 'primary', commit_offset: null, lag: null }]),
    upNode(9, [{ id: 's5', role: 'primary', commit_offset: null, lag: null }]),
  ];
  const options = { nodeRetireGraceMs: 600_000 };
  const view1 = aggregate(null, record([1, 2, 3, 4, 5, 6, 7, 8, 9]), first, '2026-11-24T10:00:00.000Z', options);
  const second: NodeObservation[] = [
    ...first.slice(0, 3),
    { address: address(4), status: { code: 'AGENT_DOWN', reason: 'read ETIMEDOUT' }, agent: null, datastore: null, shards: null, shards_error: null },
    first[4]!,
    first[5]!,
    { address: address(7), status: { code: 'NODE_DOWN', reason: 'kafka not reachable' }, agent, datastore: null, shards: null, shards_error: null },
    { ...upNode(8, null), shards_error: 'HTTP 500: not leader' },
  ];
  // Node 9 is no longer listed: it is leaving, with its last known data.
  const view2 = aggregate(view1, record([1, 2, 3, 4, 5, 6, 7, 8]), second, '2026-11-24T10:00:15.000Z', options);
  return { view1, view2, address, record, first };
}
