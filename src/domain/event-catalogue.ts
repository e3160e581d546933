/**
 * Every event fleetview emits (design/events.md), as a discriminated union over `event` with a
 * typed payload per code. Node-scoped payloads always carry the node's `address`, because the
 * envelope's `node_id` is only known once the datastore has answered.
 */
import type { Actor, ControlWindow, SettingChange, SettingLayer } from './cluster-controls.js';
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
  CLUSTER_SETTINGS_CHANGED: 'CLUSTER',
  CLUSTER_PAUSED: 'CLUSTER',
  CLUSTER_RESUMED: 'CLUSTER',
  CLUSTER_MAINTENANCE_STARTED: 'CLUSTER',
  CLUSTER_MAINTENANCE_ENDED: 'CLUSTER',
  CLUSTER_REFRESH_REQUESTED: 'CLUSTER',
  DISCOVERY_APPLIED: 'DISCOVERY',
  DISCOVERY_DELETED: 'DISCOVERY',
  DISCOVERY_PAUSED: 'DISCOVERY',
  DISCOVERY_RESUMED: 'DISCOVERY',
  RETIREMENT_HOLD_RELEASED: 'DISCOVERY',
} as const;

export type EventCode = keyof typeof eventCategoryByCode;
export type EventCategory = (typeof eventCategoryByCode)[EventCode];

export const eventCodes = Object.keys(eventCategoryByCode) as EventCode[];
export const eventCategories = ['CLUSTER', 'AGENT', 'NODE', 'SHARD', 'DISCOVERY'] as const satisfies readonly EventCategory[];

/** The audit events of an operator's action on one cluster (or of a window that ended by itself). */
export const controlEventCodes = [
  'CLUSTER_SETTINGS_CHANGED',
  'CLUSTER_PAUSED',
  'CLUSTER_RESUMED',
  'CLUSTER_MAINTENANCE_STARTED',
  'CLUSTER_MAINTENANCE_ENDED',
  'CLUSTER_REFRESH_REQUESTED',
] as const satisfies readonly EventCode[];
export type ControlEventCode = (typeof controlEventCodes)[number];

/** Events about a discovery, not a cluster: their envelope's `cluster_id` is null. */
export type DiscoveryScopedCode = { [C in EventCode]: (typeof eventCategoryByCode)[C] extends 'DISCOVERY' ? C : never }[EventCode];
export const discoveryScopedCodes = eventCodes.filter((code) => eventCategoryByCode[code] === 'DISCOVERY') as DiscoveryScopedCode[];

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

/** Payload of CLUSTER_SETTINGS_CHANGED: the layer that changed and every effective setting it moved. */
export interface ClusterSettingsChangedPayload {
  actor: Actor;
  layer: SettingLayer;
  changes: SettingChange[];
}

/** Payload of CLUSTER_PAUSED and CLUSTER_MAINTENANCE_STARTED: the window. */
export type WindowStartedPayload = ControlWindow;

/** Payload of CLUSTER_RESUMED and CLUSTER_MAINTENANCE_ENDED: the window, and who ended it (null: it expired). */
export interface WindowEndedPayload {
  window: ControlWindow;
  ended_by: Actor | null;
  why: 'operator' | 'expired';
}

/** Payload of CLUSTER_REFRESH_REQUESTED: an operator forced a refresh (`wait`: the refreshNow update). */
export interface RefreshRequestedPayload {
  actor: Actor;
  wait: boolean;
}

/** Payload of DISCOVERY_APPLIED and DISCOVERY_DELETED: the settings with every secret replaced by `[redacted]`. */
export interface DiscoveryAppliedPayload {
  actor: Actor;
  discovery: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

/** Payload of DISCOVERY_PAUSED and DISCOVERY_RESUMED: the discovery's clusters, paused or resumed one by one. */
export interface DiscoveryPausedPayload {
  actor: Actor;
  discovery: string;
  reason: string;
  until: string | null;
  clusters: number;
}

/** Payload of RETIREMENT_HOLD_RELEASED. */
export interface RetirementHoldReleasedPayload {
  actor: Actor;
  discovery: string;
  released: number;
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
  CLUSTER_SETTINGS_CHANGED: ClusterSettingsChangedPayload;
  CLUSTER_PAUSED: WindowStartedPayload;
  CLUSTER_RESUMED: WindowEndedPayload;
  CLUSTER_MAINTENANCE_STARTED: WindowStartedPayload;
  CLUSTER_MAINTENANCE_ENDED: WindowEndedPayload;
  CLUSTER_REFRESH_REQUESTED: RefreshRequestedPayload;
  DISCOVERY_APPLIED: DiscoveryAppliedPayload;
  DISCOVERY_DELETED: DiscoveryAppliedPayload;
  DISCOVERY_PAUSED: DiscoveryPausedPayload;
  DISCOVERY_RESUMED: DiscoveryPausedPayload;
  RETIREMENT_HOLD_RELEASED: RetirementHoldReleasedPayload;
}

/** Set on every event of a cluster in a maintenance window (and as the `fleetview-maintenance` Kafka header). */
export interface MaintenanceMark {
  until: string;
  reason: string;
}

/**
 * The envelope (the Kafka message value).
 * - `id`: `<cluster_id>/<generation>/<index>` for refresh events (index counts from 0 within the
 *   refresh); discovery events use `discoveryEventId` (discovery-events.ts).
 * - `node_id`: on node-scoped events (AGENT_*, NODE_*, SHARD_ALLOCATION_*) the datastore's node
 *   id as last known in the view, or null while no datastore has answered from that address (the
 *   payload's `address` always names the node); null on cluster-scoped events (CLUSTER_*,
 *   SHARD_PRIMARY_*).
 *   Operators' actions on a cluster use `controlEventId`; events about a discovery `discoveryScopedEventId`.
 * - `cluster_id`: null on events about a discovery (category DISCOVERY).
 * - `generation`: the refresh counter; 0 for discovery events, which belong to no refresh; an
 *   operator's action carries the generation of the cluster's last refresh.
 * - `timestamp`: workflow time of the refresh (or discovery run) that saw the change.
 * - `maintenance`: present while the cluster is in a maintenance window.
 */
export interface EventEnvelope<C extends EventCode = EventCode> {
  id: string;
  category: (typeof eventCategoryByCode)[C];
  event: C;
  cluster_id: C extends DiscoveryScopedCode ? null : string;
  node_id: string | null;
  generation: number;
  timestamp: string;
  schema: typeof eventSchemaVersion;
  payload: EventPayloads[C];
  maintenance?: MaintenanceMark;
}

/** Any event; narrow on `event` to get its payload type. */
export type FleetEvent = { [C in EventCode]: EventEnvelope<C> }[EventCode];

/** An event before it is numbered: the envelope fields that do not depend on its position. */
export type EventDraft = { [C in EventCode]: { event: C; node_id: string | null; payload: EventPayloads[C] } }[EventCode];

/** The id of the `index`-th event (from 0) of refresh `generation`. */
export function refreshEventId(clusterId: string, generation: number, index: number): string {
  return `${clusterId}/${generation}/${index}`;
}

/** The id of an operator's action on a cluster: its controls revision, then the code. */
export function controlEventId(clusterId: string, revision: number, event: ControlEventCode): string {
  return `${clusterId}/control/${revision}/${event}`;
}

/** The id of an event about a discovery: `discovery/<name>/<time of the action>/<EVENT>`. */
export function discoveryScopedEventId(discovery: string, at: string, event: DiscoveryScopedCode): string {
  return `discovery/${discovery}/${at}/${event}`;
}

/** An event about a discovery (category DISCOVERY). */
export function discoveryScopedEvent<C extends DiscoveryScopedCode>(event: C, payload: EventPayloads[C], at: string): FleetEvent {
  const discovery = (payload as { discovery: string }).discovery;
  return {
    id: discoveryScopedEventId(discovery, at, event),
    category: 'DISCOVERY',
    event,
    cluster_id: null,
    node_id: null,
    generation: 0,
    timestamp: at,
    schema: eventSchemaVersion,
    payload,
  } as FleetEvent;
}

/** Builds an envelope; the mapped-type cast is sound because `category` is looked up from `event`. */
export function envelope(
  draft: EventDraft,
  fields: { id: string; cluster_id: string | null; generation: number; timestamp: string },
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
