/**
 * Observations as a delta: what a refresh records in workflow history follows what changed, not
 * how big the cluster is. The observing activity remembers, per cluster, a fingerprint of each
 * node's last observation under a token; the workflow holds the observations themselves and
 * passes the token back. The next observation then carries only the nodes whose fingerprint
 * differs (in status, reason, agent or datastore info, shard ids and roles). Offsets and lag are
 * measurements, not state: a node whose only change is a measurement keeps its last delivered
 * observation, so a large cluster's view shows offsets and lag as of the node's last change.
 *
 * Small clusters get a full observation every refresh (it costs little and keeps measurements
 * fresh); a token the activity does not know (another worker, a restart, an evicted cache) also
 * gets a full one. Either way the workflow ends with the same observations, so the same events.
 */
import { normalizeAgentAddress } from './ids.js';
import type { NodeObservation } from './observation.js';

export interface ObservationDelta {
  /** Names the observation state after this delta; the next request passes it as its base. */
  token: string;
  /** The state the changes apply to; null: a full observation (every requested node is in `changed`). */
  base_token: string | null;
  /** Nodes whose observation differs from the base, or every node of a full observation; request order. */
  changed: NodeObservation[];
}

export interface AppliedDelta {
  /** One observation per requested address, in request order. */
  observations: NodeObservation[];
  /** What the workflow holds from now on, by normalized address: the requested nodes only. */
  held: Map<string, NodeObservation>;
}

/**
 * The requested addresses' observations after `delta`, or null when the delta does not apply to
 * what is held (another base, or a node the base should have had): then ask for a full one.
 */
export function applyObservationDelta(
  held: ReadonlyMap<string, NodeObservation>,
  heldToken: string | null,
  addresses: readonly string[],
  delta: ObservationDelta,
): AppliedDelta | null {
  if (delta.base_token !== null && delta.base_token !== heldToken) return null;
  const changed = new Map<string, NodeObservation>();
  for (const observation of delta.changed) changed.set(observation.address, observation);
  const next = new Map<string, NodeObservation>();
  const observations: NodeObservation[] = [];
  for (const requested of addresses) {
    // Observations name their node by its normalized address (the agent client's identity).
    const address = normalizeAgentAddress(requested);
    const observation = changed.get(address) ?? (delta.base_token === null ? undefined : held.get(address));
    if (observation === undefined) return null;
    next.set(address, observation);
    observations.push(observation);
  }
  return { observations, held: next };
}
