import type { ClaimedDiscovery, DiscoveryRunOutcome, InvalidStoredSetting } from '../domain/discovery-run.js';
import type { DiscoveryDependencies } from './discovery-dependencies.js';

export interface ClaimDiscoveriesInput {
  /** Workflow time of the discovery run (ISO 8601). */
  at: string;
  /** Unique per workflow run, so a retried claim gets its own discoveries back. */
  claimant: string;
}

export interface ClaimedDiscoveries {
  /** The due discoveries this run owns; their next_run is already moved on. */
  claimed: ClaimedDiscovery[];
  /** Stored settings that no longer validate: reported, never run. */
  invalid: InvalidStoredSetting[];
  /** Names of every enabled discovery: clusters listed only by others are going away. */
  enabled: string[];
}

export function claimDueDiscoveriesActivity(deps: DiscoveryDependencies) {
  return async function claimDueDiscoveries(input: ClaimDiscoveriesInput): Promise<ClaimedDiscoveries> {
    const { held, ...result } = await deps.store.claimDue(new Date(input.at), input.claimant);
    // Sources of deleted or disabled discoveries release their connections.
    deps.sources.retain(result.enabled);
    deps.metrics.allRetirementsHeld(held);
    return result;
  };
}

export function recordDiscoveryOutcomeActivity(deps: DiscoveryDependencies) {
  return async function recordDiscoveryOutcome(input: { discovery: string; outcome: DiscoveryRunOutcome }): Promise<void> {
    await deps.store.recordOutcome(input.discovery, input.outcome);
  };
}
