/**
 * Compares two consecutive cluster views and returns the events describing the change, with
 * deterministic ids `<cluster_id>/<generation>/<index>` (index from 0).
 *
 * Event order within one refresh (stable, so a replay or a retried publish emits the same list):
 * 1. Per node, nodes sorted by address (code-unit order), retired nodes in their place:
 *    a. agent status: AGENT_NEW, then AGENT_UP or AGENT_DOWN (the transition table)
 *    b. agent info: AGENT_INFO_NEW or AGENT_INFO_CHANGED
 *    c. node status: NODE_UP or NODE_DOWN
 *    d. datastore info: NODE_NEW or NODE_CHANGED
 *    e. shard allocations, sorted by shard id: SHARD_ALLOCATION_NEW / _CHANGED / _REMOVED
 *    f. NODE_RETIRED (a retired node emits nothing else)
 * 2. Cluster-level primaries, sorted by shard id: SHARD_PRIMARY_CHANGED / _LOST / _CONFLICT
 * 3. CLUSTER_STATUS_CHANGED, last (also on the first refresh, with `before: null`)
 *
 * diff only compares views; what the views may contain is aggregate's job (a down node keeps
 * its last known shards, so diff sees no allocation change for it).
 */
import { compareStrings, roleKey, sameJson } from './canonical-forms.js';
import type { ClusterView, NodeRef, ViewNode } from './cluster-view.js';
import { envelope, refreshEventId } from './event-catalogue.js';
import type { EventDraft, FleetEvent } from './event-catalogue.js';
import type { Shard } from './observation.js';
import { statusTransitionEvents } from './status-transitions.js';

export function diff(previous: ClusterView | null, next: ClusterView): FleetEvent[] {
  if (previous !== null && previous.cluster_id !== next.cluster_id) {
    throw new Error(`cannot diff views of different clusters: ${previous.cluster_id} and ${next.cluster_id}`);
  }
  if (previous !== null && next.generation < previous.generation) {
    throw new Error(`generation went back from ${previous.generation} to ${next.generation} in cluster ${next.cluster_id}`);
  }

  const drafts: EventDraft[] = [];
  diffMembers(previous?.members ?? [], next, drafts);
  diffPrimaries(previous, next, drafts);
  if (previous === null || previous.status !== next.status) {
    drafts.push({
      event: 'CLUSTER_STATUS_CHANGED',
      node_id: null,
      payload: { before: previous?.status ?? null, after: next.status },
    });
  }

  // Two different views under one generation would reuse event ids.
  if (previous !== null && next.generation === previous.generation && drafts.length > 0) {
    throw new Error(`views of generation ${next.generation} of cluster ${next.cluster_id} differ`);
  }
  return drafts.map((draft, index) =>
    envelope(draft, {
      id: refreshEventId(next.cluster_id, next.generation, index),
      cluster_id: next.cluster_id,
      generation: next.generation,
      timestamp: next.refreshed_at,
    }),
  );
}

function diffMembers(previousMembers: readonly ViewNode[], next: ClusterView, drafts: EventDraft[]): void {
  mergeByKey(sortedBy(previousMembers, addressOf), sortedBy(next.members, addressOf), addressOf, (beforeNode, afterNode) => {
    if (afterNode !== undefined) diffNode(beforeNode ?? null, afterNode, drafts);
    else if (beforeNode !== undefined) {
      drafts.push({
        event: 'NODE_RETIRED',
        node_id: beforeNode.node_id,
        payload: {
          address: beforeNode.address,
          left_discovery_at: beforeNode.left_discovery_at ?? next.refreshed_at,
          last_status: beforeNode.status,
        },
      });
    }
  });
}

function diffNode(before: ViewNode | null, after: ViewNode, drafts: EventDraft[]): void {
  const { address, node_id } = after;
  const transitions = statusTransitionEvents(before?.status.code ?? null, after.status.code);
  const statusChange = { address, before: before?.status ?? null, after: after.status };

  for (const event of transitions) {
    if (event === 'AGENT_NEW') drafts.push({ event, node_id, payload: { address, status: after.status } });
    else if (event === 'AGENT_UP' || event === 'AGENT_DOWN') drafts.push({ event, node_id, payload: statusChange });
  }

  if (after.agent !== null) {
    if (before === null || before.agent === null) drafts.push({ event: 'AGENT_INFO_NEW', node_id, payload: { address, ...after.agent } });
    else if (before.agent !== after.agent && !sameJson(before.agent, after.agent)) {
      drafts.push({ event: 'AGENT_INFO_CHANGED', node_id, payload: { address, before: before.agent, after: after.agent } });
    }
  }

  for (const event of transitions) {
    if (event === 'NODE_UP' || event === 'NODE_DOWN') drafts.push({ event, node_id, payload: statusChange });
  }

  if (after.datastore !== null) {
    if (before === null || before.datastore === null) drafts.push({ event: 'NODE_NEW', node_id, payload: { address, ...after.datastore } });
    else if (before.datastore !== after.datastore && !sameJson(before.datastore, after.datastore)) {
      drafts.push({
        event: 'NODE_CHANGED',
        node_id,
        payload: { address, before: before.datastore, after: after.datastore },
      });
    }
  }

  // null shards mean "not known yet": nothing to compare. The same list (a node carried over) has nothing new.
  if (after.shards !== null && after.shards !== before?.shards) diffShards(address, node_id, before?.shards ?? [], after.shards, drafts);
}

function diffShards(
  address: string,
  nodeId: string | null,
  beforeShards: readonly Shard[],
  afterShards: readonly Shard[],
  drafts: EventDraft[],
): void {
  mergeByKey(sortedBy(beforeShards, idOf), sortedBy(afterShards, idOf), idOf, (beforeShard, afterShard) => {
    if (beforeShard === undefined && afterShard !== undefined) {
      drafts.push({ event: 'SHARD_ALLOCATION_NEW', node_id: nodeId, payload: { address, ...afterShard } });
    } else if (beforeShard !== undefined && afterShard === undefined) {
      drafts.push({ event: 'SHARD_ALLOCATION_REMOVED', node_id: nodeId, payload: { address, ...beforeShard } });
    } else if (beforeShard !== undefined && afterShard !== undefined && roleKey(beforeShard.role) !== roleKey(afterShard.role)) {
      drafts.push({
        event: 'SHARD_ALLOCATION_CHANGED',
        node_id: nodeId,
        payload: { address, before: beforeShard, after: afterShard },
      });
    }
  });
}

/**
 * CHANGED when a single primary is reported and it is not the one(s) before (a shard first seen
 * with a single primary emits nothing here: its SHARD_ALLOCATION_NEW says it); LOST when no UP
 * node reports a primary for a shard that had one; CONFLICT whenever the set of several
 * primaries is new.
 */
function diffPrimaries(previous: ClusterView | null, next: ClusterView, drafts: EventDraft[]): void {
  if (previous !== null && previous.shards === next.shards) return;
  mergeByKey(sortedBy(previous?.shards ?? [], idOf), sortedBy(next.shards, idOf), idOf, (beforeShard, afterShard) => {
    const beforePrimaries = beforeShard?.primaries ?? [];
    const afterPrimaries = afterShard?.primaries ?? [];
    if (sameAddresses(beforePrimaries, afterPrimaries)) return;
    const shard_id = (beforeShard ?? afterShard)?.id ?? '';
    const payload = { shard_id, before: beforePrimaries, after: afterPrimaries };
    if (afterPrimaries.length > 1) drafts.push({ event: 'SHARD_PRIMARY_CONFLICT', node_id: null, payload });
    else if (afterPrimaries.length === 1) {
      if (beforeShard !== undefined) drafts.push({ event: 'SHARD_PRIMARY_CHANGED', node_id: null, payload });
    } else drafts.push({ event: 'SHARD_PRIMARY_LOST', node_id: null, payload });
  });
}

/** Primaries are sorted by address in the view. */
function sameAddresses(a: readonly NodeRef[], b: readonly NodeRef[]): boolean {
  return a.length === b.length && a.every((ref, i) => ref.address === b[i]?.address);
}

const addressOf = (node: ViewNode): string => node.address;
const idOf = (item: { id: string }): string => item.id;

/** Views keep members and shards sorted; a hand-built view that does not is sorted here. */
function sortedBy<T>(items: readonly T[], key: (item: T) => string): readonly T[] {
  for (let i = 1; i < items.length; i += 1) {
    if (compareStrings(key(items[i - 1] as T), key(items[i] as T)) > 0) {
      return [...items].sort((a, b) => compareStrings(key(a), key(b)));
    }
  }
  return items;
}

/** Walks two lists sorted by key in step, calling `visit` once per key in key order. */
function mergeByKey<T>(
  before: readonly T[],
  after: readonly T[],
  key: (item: T) => string,
  visit: (before: T | undefined, after: T | undefined) => void,
): void {
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const b = before[i];
    const a = after[j];
    const order = b === undefined ? 1 : a === undefined ? -1 : compareStrings(key(b), key(a));
    if (order === 0) {
      visit(b, a);
      i += 1;
      j += 1;
    } else if (order < 0) {
      visit(b, undefined);
      i += 1;
    } else {
      visit(undefined, a);
      j += 1;
    }
  }
}
