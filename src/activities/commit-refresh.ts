import { Context } from '@temporalio/activity';
import type { EventPublisher } from '../adapters/kafka-publisher.js';
import { StoreUnavailableError, type ClusterStore } from '../adapters/cluster-store.js';
import type { ClusterView } from '../domain/cluster-view.js';
import type { FleetEvent } from '../domain/event-catalogue.js';

export interface CommitRefreshInput {
  /** The refresh's events, published first, in order; may be empty. */
  events: FleetEvent[];
  /** The view to store; null when the store needs nothing from this refresh (or only a touch). */
  view: ClusterView | null;
  /**
   * A view materially the same as the stored one, without its members and shards: only the
   * cluster document's summary is rewritten (the periodic touch of a quiet cluster).
   */
  touch?: ClusterView | null;
  /** The view last stored (entity documents are written only where they differ); null: none. */
  stored_view: ClusterView | null;
}

export interface CommitRefreshResult {
  published: number;
  /** True when the store took the view. */
  stored: boolean;
  /** Why the store did not take it (the workflow sends the view again on a later refresh). */
  store_error: string | null;
}

/**
 * The end of a refresh, as one local activity: publish the events (a failure fails the activity,
 * which is retried: nothing is stored before its events are out), then hand the view to the
 * store with a bounded wait. A slow or dead store never fails the refresh: the answer says the
 * view was not stored, and the workflow tries again later, so polling and publishing go on.
 */
export function commitRefreshActivity(publisher: EventPublisher, store: ClusterStore, storeDeadlineMs: number) {
  return async function commitRefresh(input: CommitRefreshInput): Promise<CommitRefreshResult> {
    const context = Context.current();
    if (input.events.length > 0) {
      await publisher.publish(input.events);
      context.metricMeter.createCounter('fleetview_events_published', 'count', 'events acknowledged by Kafka').add(input.events.length);
    }
    if (input.touch) {
      try {
        await store.touchSummary(input.touch, { deadlineMs: storeDeadlineMs, signal: context.cancellationSignal });
        return { published: input.events.length, stored: true, store_error: null };
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        return { published: input.events.length, stored: false, store_error: err.message };
      }
    }
    if (input.view === null) return { published: input.events.length, stored: false, store_error: null };
    try {
      // Documents written are counted by the store as they land (worker.ts).
      await store.saveView(input.view, input.stored_view, { deadlineMs: storeDeadlineMs, signal: context.cancellationSignal });
      return { published: input.events.length, stored: true, store_error: null };
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      context.metricMeter.createCounter('fleetview_store_write_failures', 'count', 'views the store did not take in time').add(1);
      return { published: input.events.length, stored: false, store_error: err.message };
    }
  };
}
