import type { DiscoveryListing, SavedListing } from '../domain/discovery-run.js';
import type { DiscoveryDependencies } from './discovery-dependencies.js';

/** Saves one successful discovery run: idempotent, so a retry writes the same again. Returns the retirement guard's hold. */
export function saveDiscoveryListingActivity(deps: DiscoveryDependencies) {
  return async function saveDiscoveryListing(listing: DiscoveryListing): Promise<SavedListing> {
    const saved = await deps.store.saveListing(listing);
    deps.metrics.retirementsHeld(listing.discovery, saved.hold?.held ?? 0);
    return saved;
  };
}
