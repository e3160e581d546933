/**
 * How fleetview connects to MongoDB: MongoClient options (TLS CA and client certificate, user and
 * password) from `Config['mongodb']`, besides what the URI carries; and the URI as it may be shown.
 */
import type { MongoClientOptions } from 'mongodb';
import type { Config } from '../../config.js';
import { readPem } from './pem.js';

/** Reads the PEM files now: a missing file fails here, naming its setting. */
export function mongoClientOptions(mongodb: Config['mongodb']): MongoClientOptions {
  const { tls } = mongodb;
  const options: MongoClientOptions = {};
  // Unset and nothing TLS-ish given: the URI decides (tls=true, mongodb+srv).
  const enabled = tls.enabled ?? (tls.caFile || tls.certFile || tls.serverName ? true : undefined);
  if (enabled !== undefined) options.tls = enabled;
  if (enabled) {
    if (tls.caFile) options.ca = readPem('FLEETVIEW_MONGODB_TLS_CA_FILE', tls.caFile);
    if (tls.certFile && tls.keyFile) {
      options.cert = readPem('FLEETVIEW_MONGODB_TLS_CERT_FILE', tls.certFile);
      options.key = readPem('FLEETVIEW_MONGODB_TLS_KEY_FILE', tls.keyFile);
    }
    if (tls.serverName) options.servername = tls.serverName;
  }
  if (mongodb.username) options.auth = { username: mongodb.username, ...(mongodb.password ? { password: mongodb.password.reveal() } : {}) };
  return options;
}

/** What `createClusterStore` takes, from the configuration: its settings, with TLS and credentials as client options. */
export function mongoStoreOptions(mongodb: Config['mongodb'], extra: { serverSelectionTimeoutMs?: number } = {}) {
  const { tls: _tls, username: _username, password: _password, ...store } = mongodb;
  return { ...store, clientOptions: mongoClientOptions(mongodb), ...extra };
}

/** The URI without its password (and without query parameters that may hold secrets), for messages. */
export function displayMongoUri(uri: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/)([^@/]*@)?([^/?]*)(\/[^?]*)?(\?.*)?$/.exec(uri);
  if (!match) return 'the configured MongoDB URI';
  const [, scheme, credentials, hosts, path] = match;
  const user = credentials ? `${credentials.split(':')[0]!.replace(/@$/, '')}:***@` : '';
  return `${scheme}${user}${hosts}${path ?? ''}`;
}
