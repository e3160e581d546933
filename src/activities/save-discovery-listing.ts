import type { DiscoveryListing } from '../adapters/discovery-store.js';
import type { DiscoveryDependencies } from './discovery-dependencies.js';

/** Saves one successful discovery run: idempotent, so a retry writes the same again. */
export function saveDiscoveryListingActivity(deps: DiscoveryDependencies) {
  return async function saveDiscoveryListing(listing: DiscoveryListing): Promise<void> {
    await deps.store.saveListing(listing);
  };
}
