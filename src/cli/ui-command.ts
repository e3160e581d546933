import { createLogger } from '../adapters/logger.js';
import { startConfiguredFleetPage, type RunningFleetPage } from '../operations/index.js';
import { bindProblem } from '../ui/security.js';
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

export async function uiCommand(argv: string[], context: CommandContext): Promise<void> {
  if (!parseCommand(argv, { command: 'ui', usage: uiUsage, options: {}, positionals: [0, 0] }, context.out)) return;
  const { config, services } = context;
  // Before any connection: a page open to the network without a token never starts.
  const problem = bindProblem(config.ui.host, config.ui.token !== undefined);
  if (problem) throw usageError(`fleetview ui: ${problem}`);
  const logger = createLogger(config.worker.logLevel, { service: 'fleet-page' }, (line) => context.note(line.replace(/\n$/, '')));
  // The store and Temporal first: one that cannot be reached stops the command at once (exit 4), naming it.
  await services.clusterStore();
  await services.temporal();
  if (context.signal.aborted) return;
  let running: RunningFleetPage;
  try {
    running = await startConfiguredFleetPage(services, logger);
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
