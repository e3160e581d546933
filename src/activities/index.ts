/**
 * The activities, built once per worker around clients the worker owns (one keep-alive HTTP
 * client, one Kafka producer, one MongoDB client), never per call.
 */
import type { AgentClient } from '../adapters/agent-client.js';
import type { EventPublisher } from '../adapters/kafka-publisher.js';
import type { ClusterStore } from '../adapters/mongo-store.js';
import { createDiscoveryActivities, type DiscoveryDependencies } from './discovery.js';
import { observeNodeActivity } from './observe-node.js';
import { publishEventsActivity } from './publish-events.js';
import { loadStoredViewActivity, saveViewActivity } from './save-view.js';

export interface ActivityDependencies {
  agents: AgentClient;
  publisher: EventPublisher;
  store: ClusterStore;
  /** The discovery workflow's store, sources and Temporal client. */
  discovery: DiscoveryDependencies;
}

export function createActivities(deps: ActivityDependencies) {
  return {
    observeNode: observeNodeActivity(deps.agents),
    publishEvents: publishEventsActivity(deps.publisher),
    saveView: saveViewActivity(deps.store),
    loadStoredView: loadStoredViewActivity(deps.store),
    ...createDiscoveryActivities(deps.discovery),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ObserveNodeInput } from './observe-node.js';
