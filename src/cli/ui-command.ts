import type { Client } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import type { Db } from 'mongodb';
import { createClusterControl } from '../adapters/cluster-control.js';
import { startEventFeed, type EventFeed } from '../adapters/event-feed.js';
import { createFleetReads } from '../adapters/fleet-reads.js';
import { createLogger, type Logger } from '../adapters/logger.js';
import type { ClusterView } from '../domain/cluster-view.js';
import type { Config } from '../config.js';
import { EventHub } from '../ui/event-hub.js';
import { bindProblem } from '../ui/security.js';
import { newInstanceId, startUiServer, type UiServer } from '../ui/server.js';
import { parseCommand } from './args.js';
import type { CommandContext } from './context.js';
import { failure, usageError } from './errors.js';

export const uiUsage = `usage: fleetview ui

Serves the fleet page until Ctrl-C (or SIGTERM): every cluster with its status, the worst first
and their pause and maintenance windows (sortable, filterable); a cluster's members, shards,
settings in effect with their source, pause and maintenance, last refresh and recent events,
with "refresh now", pause, resume and maintenance buttons and links into the Temporal Web UI;
and the events as they come.

  listens on   FLEETVIEW_UI_HOST:FLEETVIEW_UI_PORT (default 127.0.0.1:8235)
  token        FLEETVIEW_UI_TOKEN (or FLEETVIEW_UI_TOKEN_FILE): every request must carry it
               (Authorization: Bearer, basic auth password, or the login form's cookie). Without
               one the page requires nothing and listens on loopback only: a host that is not
               loopback and no token stops the command at once (exit 2).
  reads        the store (FLEETVIEW_MONGODB_*), the clusters' workflows (FLEETVIEW_TEMPORAL_*),
               the events topic (FLEETVIEW_KAFKA_*, FLEETVIEW_EVENTS_TOPIC; consumer groups
               fleetview-ui-*, never committed)
  links to     FLEETVIEW_TEMPORAL_UI_URL

Prints the page's URL on stdout once it listens; logs are JSON lines on stderr
(FLEETVIEW_LOG_LEVEL=debug: one per request). docs/fleet-page.md says what each page shows.

example: fleetview ui`;

/** Bound of a page's view query and describe call: with no worker polling, a query waits this long. */
const queryTimeoutMs = 3_000;
/** Bound of "refresh now": the refresh it causes must be done within it. */
const refreshTimeoutMs = 30_000;
/** Events of each partition read at start, so the pages show recent ones at once. */
const backlogPerPartition = 2_000;

export interface FleetPageServices {
  db: Db;
  loadStoredView(clusterId: string): Promise<ClusterView | null>;
  client: Client;
  kafka: Kafka;
  logger: Logger;
}

export interface RunningFleetPage {
  server: UiServer;
  feed: EventFeed;
  close(): Promise<void>;
}

/**
 * The fleet page of `config` on clients built by the caller (the CLI's command and the demo):
 * one Kafka reader feeding the page's event hub, the store's reads, the workflows' calls.
 * Refuses a host off loopback without a token.
 */
export async function startConfiguredFleetPage(config: Config, services: FleetPageServices): Promise<RunningFleetPage> {
  const problem = bindProblem(config.ui.host, config.ui.token !== undefined);
  if (problem) throw new Error(problem);
  const hub = new EventHub({ instance: newInstanceId() });
  const feed = startEventFeed({
    kafka: services.kafka,
    topic: config.kafka.topic,
    groupPrefix: 'fleetview-ui',
    backlogPerPartition,
    onMessage: (value) => void hub.add(value),
    logger: services.logger,
  });
  let server: UiServer;
  try {
    server = await startUiServer({
      host: config.ui.host,
      port: config.ui.port,
      token: config.ui.token?.reveal(),
      deps: {
        fleet: createFleetReads({ db: services.db, timeoutMs: config.mongodb.timeoutMs }),
        control: createClusterControl({ client: services.client, queryTimeoutMs, refreshTimeoutMs, taskQueue: config.temporal.taskQueue }),
        loadStoredView: (clusterId) => services.loadStoredView(clusterId),
        hub,
        feedStatus: () => feed.status(),
        topic: config.kafka.topic,
        temporalUi: { url: config.temporal.uiUrl, namespace: config.temporal.namespace },
        defaultAgentTimeoutMs: config.agent.timeoutMs,
        temporalIdentity: services.client.options.identity,
        logger: services.logger,
      },
    });
  } catch (err) {
    await feed.stop();
    throw err;
  }
  return {
    server,
    feed,
    async close() {
      await server.close();
      await feed.stop();
      hub.close();
    },
  };
}

export async function uiCommand(argv: string[], context: CommandContext): Promise<void> {
  if (!parseCommand(argv, { command: 'ui', usage: uiUsage, options: {}, positionals: [0, 0] }, context.out)) return;
  const { config, services } = context;
  // Before any connection: a page open to the network without a token never starts.
  const problem = bindProblem(config.ui.host, config.ui.token !== undefined);
  if (problem) throw usageError(`fleetview ui: ${problem}`);
  const logger = createLogger(config.worker.logLevel, { service: 'fleet-page' }, (line) => context.note(line.replace(/\n$/, '')));
  // The store and Temporal first: one that cannot be reached stops the command at once (exit 4), naming it.
  const store = await services.clusterStore();
  const client = await services.temporal();
  if (context.signal.aborted) return;
  let running: RunningFleetPage;
  try {
    running = await startConfiguredFleetPage(config, { db: store.db, loadStoredView: (id) => store.loadView(id), client, kafka: services.kafka(), logger });
  } catch (err) {
    throw failure(err instanceof Error ? err.message : String(err));
  }
  logger.info('fleet page listening', {
    url: running.server.url,
    token_required: config.ui.token !== undefined,
    topic: config.kafka.topic,
    database: config.mongodb.database,
    web_ui: config.temporal.uiUrl,
  });
  context.out(`fleet page at ${running.server.url}`);
  await new Promise<void>((resolve) => {
    if (context.signal.aborted) return resolve();
    context.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  logger.info('fleet page stopping');
  await running.close();
}
