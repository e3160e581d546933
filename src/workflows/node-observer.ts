/**
 * A run's observations of its cluster's nodes. With observation deltas the run holds every
 * node's last observation and its token, and the worker sends only what changed since; a node
 * whose observation did not change is named, so aggregation can keep its part of the view.
 */
import { log } from '@temporalio/workflow';
import type { DiscoveryRecord } from '../domain/discovery-record.js';
import type { NodeObservation } from '../domain/observation.js';
import { applyObservationDelta } from '../domain/observation-delta.js';
import { observeActivities } from './refresh-activities.js';

export interface NodeObservations {
  observations: NodeObservation[];
  /** Nodes whose observation is the one the view already took. */
  unchanged: Set<string>;
}

function unreachable(address: string, reason: string): NodeObservation {
  return { address, status: { code: 'AGENT_DOWN', reason }, agent: null, datastore: null, shards: null, shards_error: null };
}

/** `usesDeltas`: false for runs before observation deltas (they observe in full every time). */
export function createNodeObserver(usesDeltas: boolean): { observe(record: DiscoveryRecord, timeoutMs: number | null): Promise<NodeObservations> } {
  let heldObservations = new Map<string, NodeObservation>();
  let heldToken: string | null = null;

  /** Every listed node's observation. */
  async function observe(record: DiscoveryRecord, timeoutMs: number | null): Promise<NodeObservations> {
    const unchanged = new Set<string>();
    const addresses = record.nodes.map((node) => node.agent_address);
    if (addresses.length === 0) return { observations: [], unchanged };
    const activities = observeActivities(addresses.length, timeoutMs);
    const request = { cluster_id: record.cluster_id, addresses, timeout_ms: timeoutMs };
    try {
      if (!usesDeltas) return { observations: await activities.observeCluster(request), unchanged };
      const delta = await activities.observeClusterChanges({ ...request, base_token: heldToken });
      let applied = applyObservationDelta(heldObservations, heldToken, addresses, delta);
      let token = delta.token;
      if (applied === null) {
        // The delta does not fit what this run holds (never expected): start over from a full one.
        log.warn('an observation delta did not apply; observing in full', { cluster_id: record.cluster_id, held_token: heldToken });
        const full = await activities.observeClusterChanges({ ...request, base_token: null });
        applied = applyObservationDelta(new Map(), null, addresses, full);
        if (applied === null) throw new Error('a full observation lacks requested nodes');
        token = full.token;
      }
      if (token === delta.token && delta.base_token !== null) {
        const changed = new Set(delta.changed.map((observation) => observation.address));
        for (const address of applied.held.keys()) if (!changed.has(address)) unchanged.add(address);
      }
      heldObservations = applied.held;
      heldToken = token;
      return { observations: applied.observations, unchanged };
    } catch (err) {
      // The activity itself failed (e.g. its worker died twice): a status, not a failed refresh.
      heldObservations = new Map();
      heldToken = null;
      return { observations: addresses.map((address) => unreachable(address, `node fetch failed: ${(err as Error).message}`)), unchanged };
    }
  }
  return { observe };
}
