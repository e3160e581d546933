/**
 * The chaos run's model of what a poller must report: an independent, small re-statement of
 * design/events.md (the status transition table, the catalogue, the cluster view's derived
 * status and primaries), applied to the sim's state as the sim's admin API reports it.
 *
 * The oracle never asks fleetview what it should have seen. For every scripted change it takes
 * the sim's cluster before and after (GET /admin/clusters/<id>), computes the view a poller
 * that saw both states would hold, and diffs the two into event keys. Keys name what an event
 * says, not how fleetview numbered it: `AGENT_DOWN n2 UP>AGENT_DOWN`,
 * `SHARD_ALLOCATION_CHANGED n1 rs0 primary>secondary`, `SHARD_PRIMARY_CHANGED rs0 []>[n2]`,
 * `CLUSTER_STATUS_CHANGED HEALTHY>DEGRADED`, `CLUSTER_CHANGED +n4`. `eventKey` turns a published
 * event into the same form.
 *
 * What the sim's states mean to a poller (agent-api.md, docs/concepts.md "Talking to agents"):
 * - agent `up`, or `slow` within the agent timeout: the agent answers; then datastore `down`
 *   or a foreign `cluster_id` is NODE_DOWN, else UP;
 * - agent `down` (connection closed), `hang` (no answer within the timeout), `reset` (TCP RST),
 *   `error` (500), `garbage` (200, not JSON), `oversize` (over the response cap), `slow` past
 *   the timeout, or a node the sim no longer has: AGENT_DOWN (agent info fails, nothing else
 *   is called);
 * - a node that is not UP keeps its last known shards (no allocation event, and it counts for
 *   no primary); shards are compared again when it is UP.
 */
import type { FleetEvent } from '../../src/domain/event-catalogue.js';
import { normalizeAgentAddress } from '../../src/domain/ids.js';

export type StatusCode = 'UP' | 'AGENT_DOWN' | 'NODE_DOWN';
export type ClusterStatus = 'HEALTHY' | 'DEGRADED' | 'UNAVAILABLE';

/** A node as `GET /admin/clusters/<id>` reports it. */
export interface SimNodeSnapshot {
  node: string;
  node_id: string;
  url: string;
  state: { agent: string; datastore: string; shards: string; cluster_id: string; slow_ms: number; version: string; agent_version: string };
  /** Requests the node has received, by endpoint. */
  requests?: { agent_info: number };
}

/** A cluster as `GET /admin/clusters/<id>` reports it. */
export interface SimClusterSnapshot {
  cluster_id: string;
  kind: string;
  display_name: string;
  nodes: SimNodeSnapshot[];
  shards: { id: string; primary: string | null; replicas: string[] }[];
}

/** One node of the modelled view. */
export interface ModelNode {
  address: string;
  status: StatusCode;
  /** Agent info was seen once (AGENT_INFO_NEW is behind us). */
  agentKnown: boolean;
  /** Datastore info was seen once (NODE_NEW is behind us). */
  datastoreKnown: boolean;
  /** Last shards reported while UP, id → role; null before the first. */
  shards: Record<string, string> | null;
  /** No longer listed by discovery, not yet retired: counts for nothing, emits nothing. */
  leaving: boolean;
}

/** The modelled view: its nodes by address (sorted). */
export interface ModelView {
  nodes: ModelNode[];
}

/** The last path segment of a node's address (`.../n/n2` → `n2`): unique within its cluster. */
export function nodeName(address: string): string {
  const normal = normalizeAgentAddress(address);
  return normal.slice(normal.lastIndexOf('/') + 1);
}

/** The status a poller gets from this node's agent, per the table above. */
export function observedStatus(node: SimNodeSnapshot | undefined, clusterId: string, agentTimeoutMs: number): StatusCode {
  if (node === undefined) return 'AGENT_DOWN';
  const { agent, datastore, cluster_id: reported, slow_ms: slowMs } = node.state;
  const answers = agent === 'up' || (agent === 'slow' && slowMs < agentTimeoutMs);
  if (!answers) return 'AGENT_DOWN';
  return datastore === 'down' || reported !== clusterId ? 'NODE_DOWN' : 'UP';
}

/** The shards the node reports about itself: its replicas, with its own role in each. */
export function reportedShards(sim: SimClusterSnapshot, node: string): Record<string, string> {
  const shards: Record<string, string> = {};
  for (const shard of sim.shards) if (shard.replicas.includes(node)) shards[shard.id] = shard.primary === node ? 'primary' : 'secondary';
  return shards;
}

/**
 * The view after a refresh that observed `sim` with discovery listing `listed` (addresses).
 * Listed nodes are observed; known nodes no longer listed are leaving (kept, unobserved).
 */
export function observe(previous: ModelView | null, sim: SimClusterSnapshot, listed: readonly string[], agentTimeoutMs: number): ModelView {
  const byAddress = new Map((previous?.nodes ?? []).map((node) => [node.address, node]));
  const simByAddress = new Map(sim.nodes.map((node) => [normalizeAgentAddress(node.url), node]));
  const listedSet = new Set(listed.map(normalizeAgentAddress));
  const nodes: ModelNode[] = [];
  for (const address of [...new Set([...listedSet, ...byAddress.keys()])].sort()) {
    const before = byAddress.get(address) ?? null;
    if (!listedSet.has(address)) {
      if (before) nodes.push({ ...before, leaving: true });
      continue;
    }
    const simNode = simByAddress.get(address);
    const status = observedStatus(simNode, sim.cluster_id, agentTimeoutMs);
    nodes.push({
      address,
      status,
      agentKnown: (before?.agentKnown ?? false) || status !== 'AGENT_DOWN',
      datastoreKnown: (before?.datastoreKnown ?? false) || status === 'UP',
      shards: status === 'UP' && simNode ? reportedShards(sim, simNode.node) : (before?.shards ?? null),
      leaving: false,
    });
  }
  return { nodes };
}

/** The view once a leaving node's grace period is over: it is gone (NODE_RETIRED). */
export function retire(view: ModelView, address: string): ModelView {
  const normal = normalizeAgentAddress(address);
  return { nodes: view.nodes.filter((node) => node.address !== normal) };
}

interface ShardSummary {
  /** Names of the UP listed nodes reporting themselves primary, sorted by address. */
  primaries: string[];
}

function shardSummaries(view: ModelView): Map<string, ShardSummary> {
  const shards = new Map<string, ShardSummary>();
  for (const node of view.nodes) {
    if (node.leaving) continue;
    for (const [id, role] of Object.entries(node.shards ?? {})) {
      const summary = shards.get(id) ?? { primaries: [] };
      shards.set(id, summary);
      if (node.status === 'UP' && role === 'primary') summary.primaries.push(nodeName(node.address));
    }
  }
  return shards;
}

/** UNAVAILABLE: no listed node UP; DEGRADED: some listed node down or a shard without exactly one primary; else HEALTHY. */
export function clusterStatus(view: ModelView): ClusterStatus {
  const listed = view.nodes.filter((node) => !node.leaving);
  const up = listed.filter((node) => node.status === 'UP').length;
  if (up === 0) return 'UNAVAILABLE';
  const shards = [...shardSummaries(view).values()];
  return up < listed.length || shards.some((shard) => shard.primaries.length !== 1) ? 'DEGRADED' : 'HEALTHY';
}

/** The status transition table of events.md: from (null: a node seen the first time) → to. */
function statusEvents(before: StatusCode | null, after: StatusCode): string[] {
  if (before === null) return after === 'UP' ? ['AGENT_NEW'] : ['AGENT_NEW', after];
  if (before === after) return [];
  if (after === 'UP') return [before === 'AGENT_DOWN' ? 'AGENT_UP' : 'NODE_UP'];
  return [after];
}

/** The event keys a refresh going from `previous` to `next` publishes (a multiset, in no particular order). */
export function expectedKeys(previous: ModelView | null, next: ModelView): string[] {
  const keys: string[] = [];
  const before = new Map((previous?.nodes ?? []).map((node) => [node.address, node]));
  const after = new Map(next.nodes.map((node) => [node.address, node]));
  for (const address of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const name = nodeName(address);
    const b = before.get(address) ?? null;
    const a = after.get(address);
    if (a === undefined) {
      keys.push(`NODE_RETIRED ${name}`);
      continue;
    }
    if (a.leaving) continue;
    for (const event of statusEvents(b?.status ?? null, a.status)) {
      keys.push(event === 'AGENT_NEW' ? `AGENT_NEW ${name} ${a.status}` : `${event} ${name} ${b?.status ?? 'NEW'}>${a.status}`);
    }
    if (a.agentKnown && !(b?.agentKnown ?? false)) keys.push(`AGENT_INFO_NEW ${name}`);
    if (a.datastoreKnown && !(b?.datastoreKnown ?? false)) keys.push(`NODE_NEW ${name}`);
    if (a.shards !== null) {
      const old = b?.shards ?? {};
      for (const id of [...new Set([...Object.keys(old), ...Object.keys(a.shards)])].sort()) {
        const was = old[id];
        const is = a.shards[id];
        if (was === undefined && is !== undefined) keys.push(`SHARD_ALLOCATION_NEW ${name} ${id} ${is}`);
        else if (was !== undefined && is === undefined) keys.push(`SHARD_ALLOCATION_REMOVED ${name} ${id} ${was}`);
        else if (was !== is) keys.push(`SHARD_ALLOCATION_CHANGED ${name} ${id} ${was}>${is}`);
      }
    }
  }
  const shardsBefore = previous ? shardSummaries(previous) : new Map<string, ShardSummary>();
  const shardsAfter = shardSummaries(next);
  for (const id of [...new Set([...shardsBefore.keys(), ...shardsAfter.keys()])].sort()) {
    const was = shardsBefore.get(id)?.primaries ?? [];
    const is = shardsAfter.get(id)?.primaries ?? [];
    if (was.join(',') === is.join(',')) continue;
    const change = `${id} [${was.join(',')}]>[${is.join(',')}]`;
    if (is.length > 1) keys.push(`SHARD_PRIMARY_CONFLICT ${change}`);
    else if (is.length === 1) {
      if (shardsBefore.has(id)) keys.push(`SHARD_PRIMARY_CHANGED ${change}`);
    } else keys.push(`SHARD_PRIMARY_LOST ${change}`);
  }
  const statusBefore = previous ? clusterStatus(previous) : null;
  const statusAfter = clusterStatus(next);
  if (statusBefore !== statusAfter) keys.push(`CLUSTER_STATUS_CHANGED ${statusBefore ?? 'null'}>${statusAfter}`);
  return keys;
}

/** Discovery's key for a membership change: `CLUSTER_CHANGED +n4` or `CLUSTER_CHANGED -n2`. */
export function membershipKey(added: readonly string[], removed: readonly string[]): string {
  return `CLUSTER_CHANGED ${[...added.map((a) => `+${nodeName(a)}`), ...removed.map((r) => `-${nodeName(r)}`)].sort().join(' ')}`;
}

/** Events published by discovery rather than by a cluster's refresh. */
export function isDiscoveryEvent(event: { event: string }): boolean {
  return event.event === 'CLUSTER_NEW' || event.event === 'CLUSTER_CHANGED' || event.event === 'CLUSTER_RETIRED';
}

type Payload = Record<string, unknown>;
const roleText = (role: unknown): string => (typeof role === 'string' ? role : `unknown:${String((role as { unknown?: unknown } | null)?.unknown)}`);
const codeOf = (status: unknown): string => (status as { code?: string } | null)?.code ?? 'NEW';
const names = (refs: unknown): string => `[${((refs as { address: string }[] | undefined) ?? []).map((ref) => nodeName(ref.address)).join(',')}]`;
const addressesOf = (record: unknown): string[] =>
  ((record as { nodes?: ({ agent_address: string } | string)[] } | null)?.nodes ?? []).map((node) => normalizeAgentAddress(typeof node === 'string' ? node : node.agent_address));

/** A published event in the model's key form (see the header). */
export function eventKey(event: FleetEvent): string {
  const p = event.payload as unknown as Payload;
  const name = typeof p.address === 'string' ? nodeName(p.address) : '';
  switch (event.event) {
    case 'AGENT_NEW':
      return `AGENT_NEW ${name} ${codeOf(p.status)}`;
    case 'AGENT_UP':
    case 'AGENT_DOWN':
    case 'NODE_UP':
    case 'NODE_DOWN':
      return `${event.event} ${name} ${codeOf(p.before)}>${codeOf(p.after)}`;
    case 'AGENT_INFO_NEW':
    case 'AGENT_INFO_CHANGED':
    case 'NODE_NEW':
    case 'NODE_CHANGED':
    case 'NODE_RETIRED':
      return `${event.event} ${name}`;
    case 'SHARD_ALLOCATION_NEW':
    case 'SHARD_ALLOCATION_REMOVED':
      return `${event.event} ${name} ${String(p.id)} ${roleText(p.role)}`;
    case 'SHARD_ALLOCATION_CHANGED': {
      const before = p.before as { id: string; role: unknown };
      const after = p.after as { role: unknown };
      return `${event.event} ${name} ${before.id} ${roleText(before.role)}>${roleText(after.role)}`;
    }
    case 'SHARD_PRIMARY_CHANGED':
    case 'SHARD_PRIMARY_LOST':
    case 'SHARD_PRIMARY_CONFLICT':
      return `${event.event} ${String(p.shard_id)} ${names(p.before)}>${names(p.after)}`;
    case 'CLUSTER_STATUS_CHANGED':
      return `${event.event} ${(p.before as string | null) ?? 'null'}>${p.after as string}`;
    case 'CLUSTER_NEW':
    case 'CLUSTER_RETIRED':
      return event.event;
    case 'CLUSTER_CHANGED': {
      const before = new Set(addressesOf(p.before));
      const after = new Set(addressesOf(p.after));
      return membershipKey(
        [...after].filter((a) => !before.has(a)),
        [...before].filter((b) => !after.has(b)),
      );
    }
    default:
      // Operators' actions: the chaos run takes none.
      return event.event;
  }
}
