import { Context } from '@temporalio/activity';
import type { ControlStore } from '../adapters/control-store.js';
import { within } from '../adapters/deadline.js';
import type { EventPublisher } from '../adapters/kafka-publisher.js';
import type { ClusterControls } from '../domain/cluster-controls.js';
import type { FleetEvent } from '../domain/event-catalogue.js';

export interface RecordControlsInput {
  cluster_id: string;
  controls: ClusterControls;
  /** The audit events of the change, published first; may be empty (a store write owed). */
  events: FleetEvent[];
}

export interface RecordControlsResult {
  stored: boolean;
  store_error: string | null;
}

/**
 * Records an operator's change of a cluster's controls: its audit events to Kafka (a failure
 * fails the activity, which the workflow retries), then the controls to the store with a bounded
 * wait. A store that does not answer in time leaves the write owed: the workflow sends it again.
 */
export function recordControlsActivity(publisher: EventPublisher, controls: ControlStore, storeDeadlineMs: number) {
  return async function recordControls(input: RecordControlsInput): Promise<RecordControlsResult> {
    const context = Context.current();
    if (input.events.length > 0) {
      await publisher.publish(input.events);
      context.metricMeter.createCounter('fleetview_events_published', 'count', 'events acknowledged by Kafka').add(input.events.length);
    }
    try {
      await within(controls.save(input.cluster_id, input.controls, new Date()), storeDeadlineMs, 'the store taking the controls', context.cancellationSignal);
      return { stored: true, store_error: null };
    } catch (err) {
      return { stored: false, store_error: (err as Error).message };
    }
  };
}
