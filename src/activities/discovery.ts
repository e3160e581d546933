/** The discovery workflow's activities, built around the worker's clients. */
import { claimDueDiscoveriesActivity, recordDiscoveryOutcomeActivity } from './claim-discoveries.js';
import { claimRetirementsActivity } from './claim-retirements.js';
import { ensureClusterRefreshersActivity, retireClusterRefreshersActivity } from './cluster-refreshers.js';
import type { DiscoveryDependencies } from './discovery-dependencies.js';
import { runDiscoveryActivity } from './run-discovery.js';
import { saveDiscoveryListingActivity } from './save-discovery-listing.js';

export function createDiscoveryActivities(deps: DiscoveryDependencies) {
  return {
    claimDueDiscoveries: claimDueDiscoveriesActivity(deps),
    runDiscovery: runDiscoveryActivity(deps),
    saveDiscoveryListing: saveDiscoveryListingActivity(deps),
    recordDiscoveryOutcome: recordDiscoveryOutcomeActivity(deps),
    ensureClusterRefreshers: ensureClusterRefreshersActivity(deps),
    claimRetirements: claimRetirementsActivity(deps),
    retireClusterRefreshers: retireClusterRefreshersActivity(deps),
  };
}

export type { DiscoveryDependencies } from './discovery-dependencies.js';
export { createDiscoveryMetrics, type DiscoveryMetrics } from './discovery-metrics.js';
export type { ClaimDiscoveriesInput, ClaimedDiscoveries } from './claim-discoveries.js';
export type { DiscoveryFindings, RecordChange } from './run-discovery.js';
export type { ClusterToRetire } from './claim-retirements.js';
export type { EnsureRefreshersInput, RetireRequest } from './cluster-refreshers.js';
