/**
 * The datastore kinds the sim can play and how each lays out its shards: what a real agent of
 * that kind would report, so the demo and tests see realistic ids, roles and offsets.
 */
import type { OffsetUnit } from '../domain/observation.js';

export const simKinds = ['mongodb', 'kafka', 'zookeeper'] as const;
export type SimKind = (typeof simKinds)[number];

export interface SimShardLayout {
  id: string;
  /** Names of the nodes holding a replica, in preference order. */
  replicas: string[];
  /** Name of the node that reports itself primary (leader), or null when none does. */
  primary: string | null;
  unit: OffsetUnit;
  commitOffset: number;
}

export interface SimKindProfile {
  kind: SimKind;
  /** Prefix of cluster ids: `mongo-0`, `kafka-1`, `zk-2`. */
  clusterPrefix: string;
  /** Datastore port, part of the node id (`mongo-0-n1:27017`). */
  port: number;
  datastoreVersion: string;
  displayName(index: number): string;
  /** Shards of a new cluster whose nodes are named `nodeNames`. */
  initialShards(clusterId: string, nodeNames: string[], partitions: number): SimShardLayout[];
  /** Whether a node added later gets a replica of every shard (a replica set member) or none (a new Kafka broker). */
  joinsEveryShard: boolean;
}

// A fixed epoch keeps bodies byte-stable across runs: offsets are state, not the point of the sim.
const baseEpochSeconds = 1_732_480_000;

function singleShard(clusterId: string, nodeNames: string[], unit: OffsetUnit, commitOffset: number): SimShardLayout[] {
  return [{ id: clusterId, replicas: [...nodeNames], primary: nodeNames[0] ?? null, unit, commitOffset }];
}

export const kindProfiles: Record<SimKind, SimKindProfile> = {
  mongodb: {
    kind: 'mongodb',
    clusterPrefix: 'mongo',
    port: 27017,
    datastoreVersion: '6.0.5',
    displayName: (index) => `Mongo replica set ${index}`,
    initialShards: (clusterId, nodeNames) => singleShard(clusterId, nodeNames, 'seconds', baseEpochSeconds),
    joinsEveryShard: true,
  },
  kafka: {
    kind: 'kafka',
    clusterPrefix: 'kafka',
    port: 9092,
    datastoreVersion: '3.6.1',
    displayName: (index) => `Kafka cluster ${index}`,
    // Partitions spread round-robin; replication factor 3 (or fewer brokers), the first replica leads.
    initialShards: (_clusterId, nodeNames, partitions) =>
      Array.from({ length: partitions }, (_, partition) => {
        const replicationFactor = Math.min(3, nodeNames.length);
        const replicas = Array.from({ length: replicationFactor }, (_, i) => nodeNames[(partition + i) % nodeNames.length]!);
        return { id: `topic-${partition}`, replicas, primary: replicas[0] ?? null, unit: { unit: 'offset' }, commitOffset: 1000 * (partition + 1) };
      }),
    joinsEveryShard: false,
  },
  zookeeper: {
    kind: 'zookeeper',
    clusterPrefix: 'zk',
    port: 2181,
    datastoreVersion: '3.8.3',
    displayName: (index) => `Zookeeper ensemble ${index}`,
    initialShards: (clusterId, nodeNames) => singleShard(clusterId, nodeNames, { unit: 'zxid' }, 4_294_967_296),
    joinsEveryShard: true,
  },
};

export function parseKinds(text: string): SimKind[] {
  const kinds = text
    .split(',')
    .map((kind) => kind.trim().toLowerCase())
    .filter((kind) => kind !== '');
  for (const kind of kinds) {
    if (!(simKinds as readonly string[]).includes(kind)) throw new Error(`unknown kind ${JSON.stringify(kind)}: expected ${simKinds.join(', ')}`);
  }
  if (kinds.length === 0) throw new Error(`expected at least one kind of ${simKinds.join(', ')}`);
  return kinds as SimKind[];
}
