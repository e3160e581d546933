/**
 * Every event fleetview emits (design/events.md), as a discriminated union over `event` with a
 * typed payload per code. Node-scoped payloads always carry the node's `address`, because the
 * envelope's `node_id` is only known once the datastore has answered.
 */
import type { ClusterStatus, NodeRef } from './cluster-view.js';
import type { DiscoveryRecord } from './discovery-record.js';
import type { AgentInfo, DatastoreInfo, NodeStatus, Shard } from './observation.js';

/** The category of every event code; the codes themselves are this object's keys. */
export const eventCategoryByCode = {
  CLUSTER_NEW: 'CLUSTER',
  CLUSTER_CHANGED: 'CLUSTER',
  CLUSTER_STATUS_CHANGED: 'CLUSTER',
  CLUSTER_RETIRED: 'CLUSTER',
  AGENT_NEW: 'AGENT',
  AGENT_UP: 'AGENT',
  AGENT_DOWN: 'AGENT',
  AGENT_INFO_NEW: 'AGENT',
  AGENT_INFO_CHANGED: 'AGENT',
  NODE_NEW: 'NODE',
  NODE_CHANGED: 'NODE',
  NODE_UP: 'NODE',
  NODE_DOWN: 'NODE',
  NODE_RETIRED: 'NODE',
  SHARD_ALLOCATION_NEW: 'SHARD',
  SHARD_ALLOCATION_CHANGED: 'SHARD',
  SHARD_ALLOCATION_REMOVED: 'SHARD',
  SHARD_PRIMARY_CHANGED: 'SHARD',
  SHARD_PRIMARY_LOST: 'SHARD',
  SHARD_PRIMARY_CONFLICT: 'SHARD',
} as const;

export type EventCode = keyof typeof eventCategoryByCode;
export type EventCategory = (typeof eventCategoryByCode)[EventCode];

export const eventCodes = Object.keys(eventCategoryByCode) as EventCode[];
export const eventCategories = ['CLUSTER', 'AGENT', 'NODE', 'SHARD'] as const satisfies readonly EventCategory[];

/** Version of the envelope and payload shapes; bumped on any incompatible change. */
export const eventSchemaVersion = 1;

/** Payload of CLUSTER_CHANGED. */
export interface ClusterChangedPayload {
  before: DiscoveryRecord;
  after: DiscoveryRecord;
}

/** Payload of CLUSTER_STATUS_CHANGED; `before` is null on the cluster's first refresh. */
export interface ClusterStatusChangedPayload {
  before: ClusterStatus | null;
  after: ClusterStatus;
}

/** Payload of CLUSTER_RETIRED. */
export interface ClusterRetiredPayload {
  cluster_id: string;
  /** The last record discovery listed, when still known. */
  last_record: DiscoveryRecord | null;
}

/** Payload of AGENT_NEW: the node's status the first time its address is refreshed. */
export interface AgentNewPayload {
  address: string;
  status: NodeStatus;
}

/** Payload of AGENT_UP/AGENT_DOWN/NODE_UP/NODE_DOWN; `before` is null for a node seen first now. */
export interface StatusChangedPayload {
  address: string;
  before: NodeStatus | null;
  after: NodeStatus;
}

/** Payload of AGENT_INFO_NEW: the agent info, with the node's address. */
export type AgentInfoNewPayload = AgentInfo & { address: string };

export interface AgentInfoChangedPayload {
  address: string;
  before: AgentInfo;
  after: AgentInfo;
}

/** Payload of NODE_NEW: the datastore info, with the node's address. */
export type NodeNewPayload = DatastoreInfo & { address: string };

export interface NodeChangedPayload {
  address: string;
  before: DatastoreInfo;
  after: DatastoreInfo;
}

export interface NodeRetiredPayload {
  address: string;
  /** When discovery stopped listing the node. */
  left_discovery_at: string;
  /** The node's status at its last refresh. */
  last_status: NodeStatus;
}

/** Payload of SHARD_ALLOCATION_NEW and SHARD_ALLOCATION_REMOVED (the last known shard). */
export type ShardAllocationPayload = Shard & { address: string };

/** Payload of SHARD_ALLOCATION_CHANGED: the role changed (offsets and lag never emit). */
export interface ShardAllocationChangedPayload {
  address: string;
  before: Shard;
  after: Shard;
}

/**
 * Payload of SHARD_PRIMARY_CHANGED/LOST/CONFLICT: the UP nodes reporting themselves primary for
 * the shard, before and after, sorted by address. CHANGED: `after` holds one node; LOST: none;
 * CONFLICT: several.
 */
export interface ShardPrimaryPayload {
  shard_id: string;
  before: NodeRef[];
  after: NodeRef[];
}

export interface EventPayloads {
  CLUSTER_NEW: DiscoveryRecord;
  CLUSTER_CHANGED: ClusterChangedPayload;
  CLUSTER_STATUS_CHANGED: ClusterStatusChangedPayload;
  CLUSTER_RETIRED: ClusterRetiredPayload;
  AGENT_NEW: AgentNewPayload;
  AGENT_UP: StatusChangedPayload;
  AGENT_DOWN: StatusChangedPayload;
  AGENT_INFO_NEW: AgentInfoNewPayload;
  AGENT_INFO_CHANGED: AgentInfoChangedPayload;
  NODE_NEW: NodeNewPayload;
  NODE_CHANGED: NodeChangedPayload;
  NODE_UP: StatusChangedPayload;
  NODE_DOWN: StatusChangedPayload;
  NODE_RETIRED: NodeRetiredPayload;
  SHARD_ALLOCATION_NEW: ShardAllocationPayload;
  SHARD_ALLOCATION_CHANGED: ShardAllocationChangedPayload;
  SHARD_ALLOCATION_REMOVED: ShardAllocationPayload;
  SHARD_PRIMARY_CHANGED: ShardPrimaryPayload;
  SHARD_PRIMARY_LOST: ShardPrimaryPayload;
  SHARD_PRIMARY_CONFLICT: ShardPrimaryPayload;
}

/**
 * The envelope (the Kafka message value).
 * - `id`: `<cluster_id>/<generation>/<index>` for refresh events (index counts from 0 within the
 *   refresh); discovery events use `discoveryEventId` (discovery-events.ts).
 * - `node_id`: on node-scoped events (AGENT_*, NODE_*, SHARD_ALLOCATION_*) the datastore's node
 *   id as last known in the view, or null while no datastore has answered from that address (the
 *   payload's `address` always names the node); null on cluster-scoped events (CLUSTER_*,
 *   SHARD_PRIMARY_*).
 * - `generation`: the refresh counter; 0 for discovery events, which belong to no refresh.
 * - `timestamp`: workflow time of the refresh (or discovery run) that saw the change.
 */
export interface EventEnvelope<C extends EventCode = EventCode> {
  id: string;
  category: (typeof eventCategoryByCode)[C];
  event: C;
  cluster_id: string;
  node_id: string | null;
  generation: number;
  timestamp: string;
  schema: typeof eventSchemaVersion;
  payload: EventPayloads[C];
}

/** Any event; narrow on `event` to get its payload type. */
export type FleetEvent = { [C in EventCode]: EventEnvelope<C> }[EventCode];

/** An event before it is numbered: the envelope fields that do not depend on its position. */
export type EventDraft = { [C in EventCode]: { event: C; node_id: string | null; payload: EventPayloads[C] } }[EventCode];

/** The id of the `index`-th event (from 0) of refresh `generation`. */
export function refreshEventId(clusterId: string, generation: number, index: number): string {
  return `${clusterId}/${generation}/${index}`;
}

/** Builds an envelope; the mapped-type cast is sound because `category` is looked up from `event`. */
export function envelope(
  draft: EventDraft,
  fields: { id: string; cluster_id: string; generation: number; timestamp: string },
): FleetEvent {
  return {
    id: fields.id,
    category: eventCategoryByCode[draft.event],
    event: draft.event,
    cluster_id: fields.cluster_id,
    node_id: draft.node_id,
    generation: fields.generation,
    timestamp: fields.timestamp,
    schema: eventSchemaVersion,
    payload: draft.payload,
  } as FleetEvent;
}
