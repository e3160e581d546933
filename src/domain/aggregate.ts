/**
 * Builds the new cluster view from the previous one, the discovery record and the observations
 * of one refresh. Pure and deterministic: it runs inside the refresh workflow and is replayed.
 *
 * Rules (design/events.md, ARCHITECTURE.md invariant 5):
 * - The record is the expected membership. Observations for addresses it does not list are
 *   ignored; a listed node without an observation keeps its previous entry unchanged (and is
 *   not added yet if it has none), so nothing is ever inferred about a node without its report.
 *   When two observations name one address, the later one wins.
 * - Last known data survives failures: agent info is replaced only when the agent answered,
 *   datastore info and shards only when the node is UP, shards not when the shards call failed.
 * - A node missing from the record becomes `leaving` (left_discovery_at = refreshedAt); it is
 *   dropped once `refreshedAt - left_discovery_at >= nodeRetireGraceMs` (diff then emits
 *   NODE_RETIRED). Listed again before that, it is a normal node again; listed again after, it
 *   is a new node.
 */
import {
  canonicalAgentInfo,
  canonicalDatastoreInfo,
  canonicalShards,
  canonicalStatus,
  compareStrings,
  isPrimary,
  offsetUnitKey,
} from './canonical-forms.js';
import type { ClusterStatus, ClusterView, DiscoveryHints, NodeRef, ShardSummary, ViewNode } from './cluster-view.js';
import type { DiscoveryRecord } from './discovery-record.js';
import { normalizeAgentAddress } from './ids.js';
import { isoToMillis, millisBetween } from './iso-time.js';
import type { NodeObservation, Offset } from './observation.js';

export interface AggregateOptions {
  /**
   * How long a node may be missing from discovery before it is retired, in milliseconds.
   * events.md sets the default to two discovery intervals: see `defaultNodeRetireGraceMs`.
   */
  nodeRetireGraceMs: number;
  /**
   * Normalized addresses whose observation is the very one the previous view took for them (an
   * observation delta left them unchanged): their entries are carried over with only the refresh
   * times moved, instead of being rebuilt. A speed-up only: the view is the same either way.
   */
  unchanged?: ReadonlySet<string>;
}

/** The default grace period of events.md: two discovery intervals. */
export function defaultNodeRetireGraceMs(discoveryIntervalSeconds: number): number {
  return 2 * discoveryIntervalSeconds * 1000;
}

export function aggregate(
  previous: ClusterView | null,
  record: DiscoveryRecord,
  observations: readonly NodeObservation[],
  refreshedAt: string,
  options: AggregateOptions,
): ClusterView {
  isoToMillis(refreshedAt);
  if (previous !== null && previous.cluster_id !== record.cluster_id) {
    throw new Error(`cannot aggregate record of cluster ${record.cluster_id} onto the view of ${previous.cluster_id}`);
  }

  const listed = listedNodes(record);
  const observed = new Map<string, NodeObservation>();
  for (const observation of observations) observed.set(normalizeAgentAddress(observation.address), observation);
  const previousNodes = new Map<string, ViewNode>();
  for (const node of previous?.members ?? []) previousNodes.set(node.address, node);

  const addresses = [...new Set([...listed.keys(), ...previousNodes.keys()])].sort(compareStrings);
  const members: ViewNode[] = [];
  let carriedOver = 0;
  for (const address of addresses) {
    const hints = listed.get(address);
    const before = previousNodes.get(address) ?? null;
    if (hints !== undefined) {
      const observation = observed.get(address);
      if (observation !== undefined && before !== null && before.left_discovery_at === null && options.unchanged?.has(address)) {
        members.push(observeSameAgain(before, hints, refreshedAt));
        carriedOver += 1;
      } else if (observation !== undefined) members.push(observeNode(before, address, hints, observation, refreshedAt));
      else if (before !== null) members.push({ ...before, discovered: hints, left_discovery_at: null });
    } else if (before !== null) {
      const leftAt = before.left_discovery_at ?? refreshedAt;
      if (millisBetween(leftAt, refreshedAt) >= options.nodeRetireGraceMs) continue;
      members.push(before.left_discovery_at === null ? { ...before, left_discovery_at: leftAt } : before);
    }
  }

  const listedMembers = members.filter((node) => node.left_discovery_at === null);
  // Every listed node as before, and no other: shards, primaries and lags are as before too.
  const sameNodes = previous !== null && carriedOver === listedMembers.length && carriedOver === previous.nodes;
  const shards = sameNodes ? previous.shards : summarizeShards(listedMembers);
  const agentsDown = listedMembers.filter((node) => node.status.code === 'AGENT_DOWN').length;
  const nodesDown = listedMembers.filter((node) => node.status.code === 'NODE_DOWN').length;
  const nodesUp = listedMembers.length - agentsDown - nodesDown;
  const shardsPrimaries = shards.filter((shard) => shard.primary !== null).length;
  const status: ClusterStatus =
    nodesUp === 0
      ? 'UNAVAILABLE'
      : agentsDown + nodesDown > 0 || shardsPrimaries < shards.length
        ? 'DEGRADED'
        : 'HEALTHY';

  return {
    cluster_id: record.cluster_id,
    display_name: record.display_name ?? datastoreDisplayName(listedMembers),
    generation: (previous?.generation ?? 0) + 1,
    refreshed_at: refreshedAt,
    status,
    kinds: distinctKinds(listedMembers),
    nodes: listedMembers.length,
    agents_down: agentsDown,
    nodes_down: nodesDown,
    shards_count: shards.length,
    shards_primaries: shardsPrimaries,
    shards,
    members,
  };
}

/** The record's nodes by normalized address; a repeated address keeps its first entry. */
function listedNodes(record: DiscoveryRecord): Map<string, DiscoveryHints> {
  const listed = new Map<string, DiscoveryHints>();
  for (const node of record.nodes) {
    const address = normalizeAgentAddress(node.agent_address);
    if (listed.has(address)) continue;
    listed.set(address, {
      node_id: node.node_id ?? null,
      node_class: node.node_class ?? null,
      node_group: node.node_group ?? null,
    });
  }
  return listed;
}

function observeNode(
  before: ViewNode | null,
  address: string,
  hints: DiscoveryHints,
  observation: NodeObservation,
  refreshedAt: string,
): ViewNode {
  const status = canonicalStatus(observation.status);
  const up = status.code === 'UP';
  const agent =
    status.code !== 'AGENT_DOWN' && observation.agent ? canonicalAgentInfo(observation.agent) : (before?.agent ?? null);
  const datastore = up && observation.datastore ? canonicalDatastoreInfo(observation.datastore) : (before?.datastore ?? null);
  const shardsError = up ? (observation.shards_error ?? null) : null;
  const shards =
    up && shardsError === null && observation.shards ? canonicalShards(observation.shards) : (before?.shards ?? null);

  let lastError = before?.last_error ?? null;
  if (!up) lastError = { message: status.reason ?? status.code, at: refreshedAt };
  else if (shardsError !== null) lastError = { message: `shards call failed: ${shardsError}`, at: refreshedAt };

  return {
    address,
    node_id: datastore?.node_id ?? null,
    discovered: hints,
    status,
    last_error: lastError,
    last_successful_refresh_at: up ? refreshedAt : (before?.last_successful_refresh_at ?? null),
    first_seen_at: before?.first_seen_at ?? refreshedAt,
    left_discovery_at: null,
    agent,
    datastore,
    shards,
    shards_error: shardsError,
  };
}

/** What observeNode gives for the observation `before` was built from, without rebuilding it. */
function observeSameAgain(before: ViewNode, hints: DiscoveryHints, refreshedAt: string): ViewNode {
  const up = before.status.code === 'UP';
  let lastError = before.last_error;
  if (!up) lastError = { message: before.status.reason ?? before.status.code, at: refreshedAt };
  else if (before.shards_error !== null) lastError = { message: `shards call failed: ${before.shards_error}`, at: refreshedAt };
  return {
    ...before,
    discovered: hints,
    last_error: lastError,
    last_successful_refresh_at: up ? refreshedAt : before.last_successful_refresh_at,
  };
}

interface ShardAccumulator {
  allocations: number;
  primaries: NodeRef[];
  maxLagByUnit: Map<string, Offset>;
}

/**
 * Per-shard data over listed nodes, which arrive sorted by address so `primaries` come out
 * sorted too. Down nodes count as allocations (their last known shards) but not as primaries
 * or for lag: a stale report says nothing about now.
 */
export function summarizeShards(listedMembers: readonly ViewNode[]): ShardSummary[] {
  const byId = new Map<string, ShardAccumulator>();
  for (const node of listedMembers) {
    const up = node.status.code === 'UP';
    for (const shard of node.shards ?? []) {
      let acc = byId.get(shard.id);
      if (acc === undefined) {
        acc = { allocations: 0, primaries: [], maxLagByUnit: new Map() };
        byId.set(shard.id, acc);
      }
      acc.allocations += 1;
      if (!up) continue;
      if (isPrimary(shard.role)) acc.primaries.push({ address: node.address, node_id: node.node_id });
      if (shard.lag !== null) {
        const unitKey = offsetUnitKey(shard.lag.unit);
        const max = acc.maxLagByUnit.get(unitKey);
        if (max === undefined || shard.lag.value > max.value) acc.maxLagByUnit.set(unitKey, shard.lag);
      }
    }
  }
  return [...byId.entries()]
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([id, acc]) => ({
      id,
      allocations: acc.allocations,
      primaries: acc.primaries,
      primary: acc.primaries.length === 1 ? (acc.primaries[0] ?? null) : null,
      max_lag: [...acc.maxLagByUnit.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([, lag]) => lag),
    }));
}

function distinctKinds(listedMembers: readonly ViewNode[]): string[] {
  const kinds = new Set<string>();
  for (const node of listedMembers) if (node.datastore !== null) kinds.add(node.datastore.kind);
  return [...kinds].sort(compareStrings);
}

/** Without a name from discovery, the first (by address) name a datastore reported. */
function datastoreDisplayName(listedMembers: readonly ViewNode[]): string | null {
  for (const node of listedMembers) {
    const name = node.datastore?.cluster_display_name;
    if (name !== undefined && name !== null) return name;
  }
  return null;
}
