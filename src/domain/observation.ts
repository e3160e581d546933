/**
 * What the agent client returns for one node after one refresh: the contract between the agent
 * adapter (activities) and the deterministic core (workflow code). Plain JSON only: it crosses
 * the activity boundary and lands in workflow history.
 */

export const nodeStatusCodes = ['UP', 'AGENT_DOWN', 'NODE_DOWN'] as const;
export type NodeStatusCode = (typeof nodeStatusCodes)[number];

/** `reason` explains a DOWN status; a changed reason alone is not a status change. */
export interface NodeStatus {
  code: NodeStatusCode;
  reason?: string;
}

/** `GET {base}/api/unstable/info/agent` */
export interface AgentInfo {
  version: { checkout: string; number: string; taint: string };
}

/** `GET {base}/api/unstable/info/datastore` */
export interface DatastoreInfo {
  cluster_id: string;
  node_id: string;
  kind: string;
  version: string;
  cluster_display_name: string | null;
}

/** Lowercase on output; an unknown role keeps the agent's text. */
export type ShardRole = 'primary' | 'secondary' | { unknown: string };

/** `"seconds"` or a custom unit name, kept as the agent sent it. */
export type OffsetUnit = 'seconds' | { unit: string };

export interface Offset {
  unit: OffsetUnit;
  value: number;
}

export interface Shard {
  id: string;
  role: ShardRole;
  commit_offset: Offset | null;
  lag: Offset | null;
}

export interface NodeObservation {
  /** The agent's base URL as discovery lists it (trailing `/` trimmed): the node's identity. */
  address: string;
  status: NodeStatus;
  /** null when the agent call failed. */
  agent: AgentInfo | null;
  /** null when the agent or the datastore call failed. */
  datastore: DatastoreInfo | null;
  /** null when not known: the node is down, or the shards call failed (see shards_error). */
  shards: Shard[] | null;
  /** The shards call failed on an otherwise healthy node; the rest of the observation stands. */
  shards_error: string | null;
}
