/**
 * The activities, built once per worker around clients the worker owns (one keep-alive HTTP
 * client, one Kafka producer, one MongoDB client), never per call.
 */
import type { AgentClient } from '../adapters/agent-client.js';
import type { ControlStore } from '../adapters/control-store.js';
import type { EventPublisher } from '../adapters/kafka-publisher.js';
import type { ClusterStore } from '../adapters/cluster-store.js';
import { createDiscoveryActivities, type DiscoveryDependencies } from './discovery.js';
import { commitRefreshActivity } from './commit-refresh.js';
import { observeClusterActivity } from './observe-cluster.js';
import { createObservationCache, observeChangesActivity } from './observe-changes.js';
import { publishEventsActivity } from './publish-events.js';
import { recordControlsActivity } from './record-controls.js';
import { loadResumePointActivity } from './resume-point.js';

export interface ActivityDependencies {
  agents: AgentClient;
  publisher: EventPublisher;
  store: ClusterStore;
  /** The operator's controls of each cluster. */
  controls: ControlStore;
  /** How long a refresh waits for the store to take its view before going on without it. */
  storeDeadlineMs: number;
  /** The discovery workflow's store, sources and Temporal client. */
  discovery: DiscoveryDependencies;
}

export function createActivities(deps: ActivityDependencies) {
  const observeCluster = observeClusterActivity(deps.agents);
  return {
    // Runs started before observations became deltas still call observeCluster when replayed.
    observeCluster,
    observeClusterChanges: observeChangesActivity(observeCluster, createObservationCache()),
    commitRefresh: commitRefreshActivity(deps.publisher, deps.store, deps.storeDeadlineMs),
    publishEvents: publishEventsActivity(deps.publisher),
    loadResumePoint: loadResumePointActivity(deps.store, deps.controls, deps.discovery.temporal),
    recordControls: recordControlsActivity(deps.publisher, deps.controls, deps.storeDeadlineMs),
    // The worker's clock, for workflow code that must know the time now, not its task's start.
    readClock: (): Promise<number> => Promise.resolve(Date.now()),
    ...createDiscoveryActivities(deps.discovery),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ObserveClusterInput } from './observe-cluster.js';
export type { ObserveChangesInput } from './observe-changes.js';
export type { CommitRefreshInput, CommitRefreshResult } from './commit-refresh.js';
export type { ResumePoint, ResumePointInput } from './resume-point.js';
export type { RecordControlsInput, RecordControlsResult } from './record-controls.js';
