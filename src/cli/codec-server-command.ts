import type { CodecServer } from '../adapters/codec-server.js';
import { displayMongoUri } from '../adapters/connections/index.js';
import { createLogger } from '../adapters/logger.js';
import { codecAllowedOrigins, startConfiguredCodecServer } from '../operations/index.js';
import { parseCommand } from './args.js';
import type { CommandContext } from './context.js';
import { failure } from './errors.js';

export const codecServerUsage = `usage: fleetview codec-server

Serves the Temporal Web UI's codec endpoint until Ctrl-C (or SIGTERM): the payloads fleetview
keeps in the store (larger than FLEETVIEW_TEMPORAL_PAYLOAD_OFFLOAD_BYTES; workflow histories
hold a reference) are read from it, so the UI shows the data instead of the reference. A
stored payload over FLEETVIEW_CODEC_MAX_PAYLOAD_BYTES (1 MiB) shows as a note with its size and
key, and how to read it (fleetview view CLUSTER --node N / --limit N); one no longer in the
store shows as a note naming its key. Other payloads pass unchanged.

  listens on   FLEETVIEW_CODEC_HOST:FLEETVIEW_CODEC_PORT (default 127.0.0.1:8234)
  answers      POST .../decode and .../encode, with CORS for FLEETVIEW_CODEC_ALLOWED_ORIGINS
               (default: the origin of FLEETVIEW_TEMPORAL_UI_URL)
  reads        FLEETVIEW_MONGODB_URI, FLEETVIEW_MONGODB_DATABASE (each call within
               FLEETVIEW_MONGODB_TIMEOUT_MS)

Point the UI at it: temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8234
(scripts/services.sh does), or the UI's "Codec Server" setting; the Temporal CLI takes it as
--codec-endpoint. It authenticates no one: keep it on loopback or behind your proxy.
Logs are JSON lines on stderr (FLEETVIEW_LOG_LEVEL=debug: one per request).

example: fleetview codec-server`;

export async function codecServerCommand(argv: string[], context: CommandContext): Promise<void> {
  if (!parseCommand(argv, { command: 'codec-server', usage: codecServerUsage, options: {}, positionals: [0, 0] }, context.out)) return;
  const { config, services } = context;
  // JSON lines through the CLI's stderr (control characters escaped like every note).
  const logger = createLogger(config.worker.logLevel, { service: 'codec-server' }, (line) => context.note(line.replace(/\n$/, '')));
  // The store first: one that cannot be reached stops the command at once (exit 4), naming it.
  const store = await services.clusterStore();
  if (context.signal.aborted) return;
  let server: CodecServer;
  try {
    server = await startConfiguredCodecServer(config, () => store.db, logger);
  } catch (err) {
    throw failure(err instanceof Error ? err.message : String(err));
  }
  logger.info('codec server listening', {
    endpoint: server.url,
    allowed_origins: codecAllowedOrigins(config),
    store: displayMongoUri(config.mongodb.uri),
    database: config.mongodb.database,
    max_payload_bytes: config.codec.maxPayloadBytes,
    web_ui: `temporal server start-dev --ui-codec-endpoint ${server.url}`,
  });
  await new Promise<void>((resolve) => {
    if (context.signal.aborted) return resolve();
    context.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  logger.info('codec server stopping');
  await server.close();
}
