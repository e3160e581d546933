/**
 * The cluster view: what one refresh knows about a cluster, aggregated in workflow code, carried
 * through continue-as-new, stored in MongoDB and returned by the view query. Plain JSON only.
 *
 * Every key is a fixed field name: per-node and per-shard data are arrays sorted by address and
 * by shard id, never objects keyed by outside input (an address contains `.`, a shard id may
 * start with `$`: both are unsafe as MongoDB keys).
 */
import type { AgentInfo, DatastoreInfo, NodeStatus, Offset, Shard } from './observation.js';

export const clusterStatuses = ['HEALTHY', 'DEGRADED', 'UNAVAILABLE'] as const;
/**
 * HEALTHY: every node answers and every shard has exactly one primary. DEGRADED: some node is
 * down, or some shard has no primary or more than one. UNAVAILABLE: no node is UP.
 */
export type ClusterStatus = (typeof clusterStatuses)[number];

/** A node named in cluster-level data: the address is the identity, node_id the datastore's. */
export interface NodeRef {
  address: string;
  node_id: string | null;
}

/** What a discovery record says about a node: hints, not verified against the datastore. */
export interface DiscoveryHints {
  node_id: string | null;
  node_class: string | null;
  node_group: string | null;
}

export interface NodeError {
  message: string;
  at: string;
}

/** One node, keyed by its agent address (the discovery identity). */
export interface ViewNode {
  address: string;
  /** The datastore's own node id, last known; null until the datastore has answered once. */
  node_id: string | null;
  discovered: DiscoveryHints;
  /** The status of the latest refresh that observed the node. */
  status: NodeStatus;
  /** The latest failure (a DOWN reason or a failed shards call); kept after the node recovers. */
  last_error: NodeError | null;
  /** Workflow time of the latest refresh where the node was UP. */
  last_successful_refresh_at: string | null;
  first_seen_at: string;
  /**
   * When discovery stopped listing the node; null while listed. A leaving node is no longer
   * polled, keeps its last known data, is left out of counts, shards and cluster status, and is
   * retired (dropped, NODE_RETIRED) once the grace period has passed.
   */
  left_discovery_at: string | null;
  /** Last known: kept while the agent is down. */
  agent: AgentInfo | null;
  /** Last known: kept while the node is down. */
  datastore: DatastoreInfo | null;
  /** Last known, sorted by shard id; null until the node has reported shards once. */
  shards: Shard[] | null;
  /** Why the latest shards call failed on an UP node (shards above are then the last known). */
  shards_error: string | null;
}

/** One shard id across the cluster's listed nodes. */
export interface ShardSummary {
  id: string;
  /** Listed nodes holding the shard (last known shards of down nodes included). */
  allocations: number;
  /** UP nodes reporting themselves primary, sorted by address; more than one is a conflict. */
  primaries: NodeRef[];
  /** The primary when exactly one UP node reports it, else null. */
  primary: NodeRef | null;
  /**
   * The largest lag UP nodes report, one entry per unit (agents may use different units and
   * units do not compare), `seconds` first then custom units by name.
   */
  max_lag: Offset[];
}

export interface ClusterView {
  cluster_id: string;
  display_name: string | null;
  /** Refresh counter: 1 for the first refresh, +1 per refresh, carried across continue-as-new. */
  generation: number;
  /** Workflow time of the refresh that built this view (ISO 8601). */
  refreshed_at: string;
  status: ClusterStatus;
  /** Distinct datastore kinds of listed nodes, sorted. */
  kinds: string[];
  /** Listed nodes in the view (leaving nodes are not counted). */
  nodes: number;
  agents_down: number;
  nodes_down: number;
  /** Distinct shard ids. */
  shards_count: number;
  /** Shards with exactly one primary. */
  shards_primaries: number;
  /** Sorted by shard id. */
  shards: ShardSummary[];
  /** The nodes themselves, listed and leaving, sorted by address. */
  members: ViewNode[];
}
