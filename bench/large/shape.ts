/**
 * The shapes of bench:large and what a first refresh of one must publish. A shape is N nodes ×
 * S shard copies per node, played by one Kafka-like sim cluster whose partitions have three
 * replicas each (fewer with fewer than three brokers): partitions = round(N·S / 3).
 *
 * The first refresh of a cluster whose every node answers publishes, in this order
 * (src/domain/diff.ts, ../shared/design/events.md), with ids `<cluster>/<generation>/<index>`:
 * per node AGENT_NEW, AGENT_INFO_NEW, NODE_NEW and one SHARD_ALLOCATION_NEW per shard copy it
 * holds; no SHARD_PRIMARY_* (a shard first seen with one primary is told by its allocation);
 * last CLUSTER_STATUS_CHANGED (before: null). The discovery's CLUSTER_NEW comes before it, with
 * an id of its own (`<cluster>/discovery/<run>/CLUSTER_NEW`, generation 0).
 */

export interface Shape {
  nodes: number;
  /** Shard copies per node. */
  shardsPerNode: number;
}

export const defaultShapes = ['100x10', '100x50', '500x20', '1000x50', '2000x50'] as const;

/** `NODESxSHARDS`, e.g. `100x10` (× and X are taken too). */
export function parseShape(text: string): Shape {
  const match = /^\s*(\d+)\s*[x×X]\s*(\d+)\s*$/.exec(text);
  const nodes = Number(match?.[1]);
  const shardsPerNode = Number(match?.[2]);
  if (!match || !Number.isInteger(nodes) || nodes < 1 || !Number.isInteger(shardsPerNode) || shardsPerNode < 1) {
    throw new Error(`a shape is NODESxSHARDS (nodes × shard copies per node, both positive integers), e.g. 100x10; got ${JSON.stringify(text)}`);
  }
  return { nodes, shardsPerNode };
}

export function shapeLabel(shape: Shape): string {
  return `${shape.nodes}x${shape.shardsPerNode}`;
}

/** Replicas of each partition: three, or every broker when there are fewer. */
export function replicationOf(nodes: number): number {
  return Math.min(3, nodes);
}

/** The sim's `--partitions` for a shape: N·S shard copies over three replicas each (at least one partition). */
export function partitionsOf(shape: Shape): number {
  return Math.max(1, Math.round((shape.nodes * shape.shardsPerNode) / 3));
}

/** Shard copies of the sim cluster of a shape: partitions × replicas (N·S up to rounding). */
export function shardCopiesOf(shape: Shape): number {
  return partitionsOf(shape) * replicationOf(shape.nodes);
}

export interface ExpectedFirstRefresh {
  /** AGENT_NEW, AGENT_INFO_NEW and NODE_NEW of every node. */
  node_events: number;
  /** One SHARD_ALLOCATION_NEW per shard copy. */
  shard_allocations: number;
  /** CLUSTER_STATUS_CHANGED. */
  cluster_events: number;
  /** Events of the first refresh: the ids `<cluster>/<generation>/0` to `/<total − 1>`. */
  total: number;
  by_code: Record<string, number>;
  /** The discovery's CLUSTER_NEW, which is not part of the refresh (its own id, generation 0). */
  discovery_events: number;
}

/** What the first refresh of a cluster of `nodes` nodes holding `shardCopies` shard copies publishes, every node up. */
export function expectedFirstRefreshEvents(nodes: number, shardCopies: number): ExpectedFirstRefresh {
  const by_code: Record<string, number> = {
    AGENT_NEW: nodes,
    AGENT_INFO_NEW: nodes,
    NODE_NEW: nodes,
    SHARD_ALLOCATION_NEW: shardCopies,
    CLUSTER_STATUS_CHANGED: 1,
  };
  return {
    node_events: 3 * nodes,
    shard_allocations: shardCopies,
    cluster_events: 1,
    total: 3 * nodes + shardCopies + 1,
    by_code,
    discovery_events: 1,
  };
}
