import { Context } from '@temporalio/activity';
import type { EventPublisher } from '../adapters/kafka-publisher.js';
import type { FleetEvent } from '../domain/event-catalogue.js';

/** Publishes one batch of a refresh's events, in order. Fails (and is retried) while Kafka is down. */
export function publishEventsActivity(publisher: EventPublisher) {
  return async function publishEvents(events: FleetEvent[]): Promise<void> {
    const context = Context.current();
    if (context.info.attempt > 1) {
      context.metricMeter.createCounter('fleetview_publish_retries', 'count', 'retried event publish attempts').add(1);
    }
    await publisher.publish(events);
    context.metricMeter.createCounter('fleetview_events_published', 'count', 'events acknowledged by Kafka').add(events.length);
  };
}
