/** The deterministic core: workflow-safe types and pure functions, no I/O. */
export type { AgentInfo, DatastoreInfo, NodeObservation, NodeStatus, NodeStatusCode, Offset, OffsetUnit, Shard, ShardRole } from './observation.js';
export { nodeStatusCodes } from './observation.js';
export type { DiscoveryNode, DiscoveryRecord } from './discovery-record.js';
export { canonicalDiscoveryRecord } from './discovery-record.js';
export type { ClaimedDiscovery, DiscoveryListing, DiscoveryRunOutcome, InvalidStoredSetting, ListingChange, SavedListing } from './discovery-run.js';
export {
  agentAddressProblem,
  clusterIdPattern,
  clusterIdProblem,
  clusterWorkflowId,
  nodeIdPattern,
  nodeIdProblem,
  normalizeAgentAddress,
} from './ids.js';
export type { ClusterStatus, ClusterView, DiscoveryHints, NodeError, NodeRef, ShardSummary, ViewNode } from './cluster-view.js';
export { clusterStatuses } from './cluster-view.js';
export type {
  AgentInfoChangedPayload,
  AgentInfoNewPayload,
  AgentNewPayload,
  ClusterChangedPayload,
  ClusterRetiredPayload,
  ClusterStatusChangedPayload,
  EventCategory,
  EventCode,
  EventEnvelope,
  EventPayloads,
  FleetEvent,
  NodeChangedPayload,
  NodeNewPayload,
  NodeRetiredPayload,
  ShardAllocationChangedPayload,
  ShardAllocationPayload,
  ShardPrimaryPayload,
  StatusChangedPayload,
} from './event-catalogue.js';
export { eventCategories, eventCategoryByCode, eventCodes, eventSchemaVersion, refreshEventId } from './event-catalogue.js';
export type { StatusTransitionEvent } from './status-transitions.js';
export { statusTransitionEvents, statusTransitionTable } from './status-transitions.js';
export type { AggregateOptions } from './aggregate.js';
export { aggregate, defaultNodeRetireGraceMs } from './aggregate.js';
export { diff } from './diff.js';
export type { DiscoveryEventContext } from './discovery-events.js';
export { clusterRetiredEvent, discoveryEventId, discoveryEvents, sameDiscoveryRecord } from './discovery-events.js';
export type { JsonSchema } from './event-json-schema.js';
export { eventPayloadSchemas, fleetEventSchema } from './event-json-schema.js';
export type { NodeStatusEntry } from './status-projection.js';
export { applyNodeStatusEvents, nodeStatuses } from './status-projection.js';
export type { ListingShrink, RetirementGuardDecision, RetirementGuardSettings, RetirementHold } from './retirement-guard.js';
export { defaultRetirementGuard, describeRetirementHold, holdsRetirements, retirementGuardDecision } from './retirement-guard.js';
