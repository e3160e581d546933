import { createHash } from 'node:crypto';
import type { ObservationDelta } from '../domain/observation-delta.js';
import type { NodeObservation } from '../domain/observation.js';
import type { ObserveClusterInput } from './observe-cluster.js';

export interface ObserveChangesInput extends ObserveClusterInput {
  /** The token of the observations the workflow holds (from its last delta); null: it holds none. */
  base_token: string | null;
}

/**
 * Up to this many nodes plus shard copies a cluster is observed in full every refresh: its
 * observation is a few KiB (about 150 bytes an entry), and offsets and lag stay fresh.
 */
export const fullObservationMaxEntries = 64;

/**
 * Fingerprints kept per worker, across clusters (about 80 bytes each): enough for a thousand
 * small clusters and several of thousands of nodes. Past it, the least recently refreshed
 * clusters are forgotten and get one full observation.
 */
const maxCachedFingerprints = 500_000;
/** States kept per cluster: the one handed out last and the one before, for a retried workflow task. */
const statesPerCluster = 2;

interface CachedState {
  token: string;
  /** Fingerprint by normalized address. */
  fingerprints: Map<string, string>;
}

/** What a node's observation says, without its measurements (offsets, lag). */
export function observationFingerprint(observation: NodeObservation): string {
  const shards = observation.shards?.map((shard) => [shard.id, shard.role, shard.commit_offset?.unit ?? null, shard.lag?.unit ?? null]) ?? null;
  const material = JSON.stringify([observation.status, observation.agent, observation.datastore, observation.shards_error, shards]);
  return createHash('sha256').update(material).digest('base64url').slice(0, 22);
}

function stateToken(fingerprints: ReadonlyMap<string, string>): string {
  const hash = createHash('sha256');
  for (const address of [...fingerprints.keys()].sort()) hash.update(address).update('\t').update(fingerprints.get(address)!).update('\n');
  return hash.digest('base64url').slice(0, 22);
}

/** The worker-local memory of what each cluster's workflow holds, bounded (least recently used out). */
export function createObservationCache(maxFingerprints = maxCachedFingerprints) {
  const byCluster = new Map<string, CachedState[]>();
  let size = 0;
  const weight = (states: CachedState[]) => states.reduce((sum, state) => sum + state.fingerprints.size, 0);

  return {
    find(clusterId: string, token: string): CachedState | undefined {
      return byCluster.get(clusterId)?.find((state) => state.token === token);
    },
    remember(clusterId: string, state: CachedState): void {
      const states = byCluster.get(clusterId) ?? [];
      byCluster.delete(clusterId);
      size -= weight(states);
      const kept = [state, ...states.filter((s) => s.token !== state.token)].slice(0, statesPerCluster);
      byCluster.set(clusterId, kept);
      size += weight(kept);
      for (const [oldest, oldStates] of byCluster) {
        if (size <= maxFingerprints || oldest === clusterId) break;
        byCluster.delete(oldest);
        size -= weight(oldStates);
      }
    },
    get fingerprints() {
      return size;
    },
  };
}

export type ObservationCache = ReturnType<typeof createObservationCache>;

/**
 * Observes every node (through `observeCluster`) and answers with what changed since the base
 * the workflow holds: see ../domain/observation-delta.ts.
 */
export function observeChangesActivity(observeCluster: (input: ObserveClusterInput) => Promise<NodeObservation[]>, cache: ObservationCache) {
  return async function observeClusterChanges(input: ObserveChangesInput): Promise<ObservationDelta> {
    const observations = await observeCluster({ cluster_id: input.cluster_id, addresses: input.addresses, timeout_ms: input.timeout_ms });
    const fingerprints = new Map<string, string>();
    for (const observation of observations) fingerprints.set(observation.address, observationFingerprint(observation));
    const token = stateToken(fingerprints);
    const base = input.base_token === null ? undefined : cache.find(input.cluster_id, input.base_token);
    cache.remember(input.cluster_id, { token, fingerprints });
    const entries = observations.reduce((sum, observation) => sum + 1 + (observation.shards?.length ?? 0), 0);
    if (base === undefined || entries <= fullObservationMaxEntries) {
      return { token, base_token: null, changed: observations };
    }
    const changed = observations.filter((observation) => base.fingerprints.get(observation.address) !== fingerprints.get(observation.address));
    return { token, base_token: input.base_token, changed };
  };
}
