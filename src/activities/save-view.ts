import type { ClusterStore, SaveResult } from '../adapters/mongo-store.js';
import type { ClusterView } from '../domain/cluster-view.js';

/** Persists the view and its entities; generation-guarded, so retries and stale writes are harmless. */
export function saveViewActivity(store: ClusterStore) {
  return async function saveView(view: ClusterView): Promise<SaveResult> {
    return store.saveView(view);
  };
}
