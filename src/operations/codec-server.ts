/**
 * The Web UI's codec endpoint (`fleetview codec-server`, and the demo): payloads fleetview keeps
 * in the store are shown as the data they hold, not as references.
 */
import type { Db } from 'mongodb';
import { startCodecServer, webUiOrigins, type CodecServer } from '../adapters/codec-server.js';
import type { Logger } from '../adapters/logger.js';
import { createPayloadStoreDriver } from '../adapters/payload-store.js';
import type { Config } from '../config.js';

/** Browser origins the codec server answers: the configured ones, else the Web UI's. */
export function codecAllowedOrigins(config: Config): string[] {
  return config.codec.allowedOrigins ?? webUiOrigins(config.temporal.uiUrl);
}

/** The codec server of `config`, on the store's database `db`. */
export function startConfiguredCodecServer(config: Config, db: () => Db | Promise<Db>, logger: Logger): Promise<CodecServer> {
  const { codec } = config;
  return startCodecServer({
    driver: createPayloadStoreDriver({ db, timeoutMs: config.mongodb.timeoutMs }),
    host: codec.host,
    port: codec.port,
    allowedOrigins: codecAllowedOrigins(config),
    maxPayloadBytes: codec.maxPayloadBytes,
    maxRequestBytes: codec.maxRequestBytes,
    logger,
  });
}
