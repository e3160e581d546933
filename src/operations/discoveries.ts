/**
 * Discovery settings stored and deleted without an audit event: for the demo, which makes and
 * removes a discovery of its own (operators go through `fleetview discovery`, which records who
 * did what on the events topic).
 */
import type { ServiceClients } from '../adapters/clients.js';
import { parseDiscoverySetting } from '../adapters/discovery/index.js';
import { createDiscoveryStore, type ApplyResult } from '../adapters/discovery-store/index.js';

/** Validates `raw` (a setting as a file holds it) and stores it, due at once; throws naming the problem. */
export async function applyDiscovery(clients: ServiceClients, raw: Record<string, unknown>, source: string): Promise<ApplyResult> {
  const parsed = parseDiscoverySetting(raw, source);
  if (!parsed.ok) throw new Error(parsed.problem);
  return createDiscoveryStore((await clients.clusterStore()).db).applySetting(parsed.setting, new Date());
}

/** True when it existed. Its clusters retire after their grace period unless another discovery lists them. */
export async function deleteDiscovery(clients: ServiceClients, name: string): Promise<boolean> {
  return createDiscoveryStore((await clients.clusterStore()).db).deleteSetting(name);
}
