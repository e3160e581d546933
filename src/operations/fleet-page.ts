/**
 * The fleet page (`fleetview ui`, and the demo beside the Web UI) on the caller's clients: one
 * reader of the events topic feeding the page's event hub, the store's reads, the workflows'
 * calls.
 */
import type { ServiceClients } from '../adapters/clients.js';
import { createClusterControl } from '../adapters/cluster-control.js';
import { startEventFeed, type EventFeed } from '../adapters/event-feed.js';
import { createFleetReads } from '../adapters/fleet-reads.js';
import type { Logger } from '../adapters/logger.js';
import { EventHub } from '../ui/event-hub.js';
import { bindProblem } from '../ui/security.js';
import { newInstanceId, startUiServer, type UiServer } from '../ui/server.js';

/** Bound of a page's view query and describe call: with no worker polling, a query waits this long. */
const queryTimeoutMs = 3_000;
/** Bound of "refresh now": the refresh it causes must be done within it. */
const refreshTimeoutMs = 30_000;
/** Events of each partition read at start, so the pages show recent ones at once. */
const backlogPerPartition = 2_000;

export interface RunningFleetPage {
  server: UiServer;
  feed: EventFeed;
  close(): Promise<void>;
}

/** Refuses a host off loopback without a token. */
export async function startConfiguredFleetPage(clients: ServiceClients, logger: Logger): Promise<RunningFleetPage> {
  const { config } = clients;
  const problem = bindProblem(config.ui.host, config.ui.token !== undefined);
  if (problem) throw new Error(problem);
  const store = await clients.clusterStore();
  const client = await clients.temporal();
  const hub = new EventHub({ instance: newInstanceId() });
  const feed = startEventFeed({
    kafka: clients.kafka(),
    topic: config.kafka.topic,
    groupPrefix: 'fleetview-ui',
    backlogPerPartition,
    onMessage: (value) => void hub.add(value),
    logger,
  });
  let server: UiServer;
  try {
    server = await startUiServer({
      host: config.ui.host,
      port: config.ui.port,
      token: config.ui.token?.reveal(),
      deps: {
        fleet: createFleetReads({ db: store.db, timeoutMs: config.mongodb.timeoutMs }),
        control: createClusterControl({ client, queryTimeoutMs, refreshTimeoutMs, taskQueue: config.temporal.taskQueue }),
        loadStoredView: (clusterId) => store.loadView(clusterId),
        hub,
        feedStatus: () => feed.status(),
        topic: config.kafka.topic,
        temporalUi: { url: config.temporal.uiUrl, namespace: config.temporal.namespace },
        defaultAgentTimeoutMs: config.agent.timeoutMs,
        temporalIdentity: client.options.identity,
        logger,
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
