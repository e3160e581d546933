import { displayMongoUri } from '../adapters/connections/index.js';
import { ensureSearchAttributes, SearchAttributesError } from '../adapters/search-attributes.js';
import { discoveryScheduleOptions, ensureDiscoverySchedule, ensureEventsTopic, ensureIndexes } from '../operations/index.js';
import { parseCommand } from './args.js';
import type { CommandContext } from './context.js';
import { failure } from './errors.js';

export const startUsage = `usage: fleetview start

Creates what fleetview needs, or brings it up to date (safe to run again):
  - the MongoDB indexes (FLEETVIEW_MONGODB_URI, FLEETVIEW_MONGODB_DATABASE)
  - the events topic (FLEETVIEW_EVENTS_TOPIC), with its partitions and retention
  - the search attributes the workflows set, on the namespace (FLEETVIEW_TEMPORAL_NAMESPACE):
    ClusterId (Keyword), FleetviewPaused (Bool), FleetviewMaintenance (Bool); those missing are
    added (a server that refuses stops the command, naming them)
  - the Temporal Schedule (FLEETVIEW_DISCOVERY_SCHEDULE_ID, default fleetview-discovery) that
    starts the discovery workflow every FLEETVIEW_DISCOVERY_TICK_S seconds (default 15),
    overlap skip, catch-up window FLEETVIEW_DISCOVERY_CATCHUP_S (default 60)
Workers run on their own: npm start.

example: fleetview start`;

export async function startCommand(argv: string[], context: CommandContext): Promise<void> {
  if (!parseCommand(argv, { command: 'start', usage: startUsage, options: {}, positionals: [0, 0] }, context.out)) return;
  const { config, services } = context;

  await ensureIndexes(services);
  context.out(`indexes   ready in database ${config.mongodb.database} (${displayMongoUri(config.mongodb.uri)})`);

  try {
    await ensureEventsTopic(services);
  } catch (err) {
    throw services.kafkaUnreachable(err);
  }
  context.out(`topic     ${config.kafka.topic} ready`);

  const client = await services.temporal();
  // Before the schedule: cluster workflows fail their tasks when they upsert an attribute the namespace lacks.
  let attributes;
  try {
    attributes = await ensureSearchAttributes(client, config.temporal.namespace);
  } catch (err) {
    if (err instanceof SearchAttributesError) throw failure(err.message);
    throw failure(`listing the search attributes of namespace ${config.temporal.namespace} failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  context.out(
    `search    attributes on namespace ${config.temporal.namespace}: ${
      attributes.added.length > 0 ? `added ${attributes.added.join(', ')}${attributes.present.length > 0 ? `; ${attributes.present.join(', ')} already there` : ''}` : `${attributes.present.join(', ')} already there`
    }`,
  );
  const outcome = await ensureDiscoverySchedule(client, config);
  const schedule = discoveryScheduleOptions(config);
  context.out(
    `schedule  ${schedule.scheduleId} ${outcome}: every ${config.discovery.tickS} s, overlap skip, catch-up ${config.discovery.catchupWindowS} s,` +
      ` starts workflow type discovery on task queue ${config.temporal.taskQueue}`,
  );
  context.out(`web ui    ${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/schedules/${encodeURIComponent(schedule.scheduleId)}`);

  const queue = await client.workflowService.describeTaskQueue({ namespace: config.temporal.namespace, taskQueue: { name: config.temporal.taskQueue } });
  if ((queue.pollers ?? []).length === 0) {
    context.note(`warning: no worker polls task queue ${config.temporal.taskQueue}: discovery runs wait until one does (npm start)`);
  }
}
