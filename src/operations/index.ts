/**
 * How the CLI and the demo reach a running fleetview: the services' clients, what must exist
 * before workers can work, the discovery schedule, discoveries, forgetting clusters, reading the
 * events, and the fleet page and codec server on those clients.
 */
export { openClients, unreachableMessage, type ClientsOptions, type ServiceClients } from '../adapters/clients.js';
export { checkServices, type ServiceHealth } from '../adapters/service-health.js';
export { codecAllowedOrigins, startConfiguredCodecServer } from './codec-server.js';
export { applyDiscovery, deleteDiscovery } from './discoveries.js';
export { discoveryScheduleOptions, ensureDiscoverySchedule, removeDiscoverySchedule } from './discovery-schedule.js';
export { startConfiguredFleetPage, type RunningFleetPage } from './fleet-page.js';
export { forgetClusters } from './forget-clusters.js';
export { ensureEventsTopic, ensureIndexes } from './prepare.js';
export { readEvents, TopicNotFoundError, type ReadEventsOptions } from './read-events.js';
