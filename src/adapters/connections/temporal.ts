/**
 * How fleetview connects to Temporal: the same options for the worker's NativeConnection and every
 * client Connection (CLI, demo, discovery activities), from `Config['temporal']`.
 */
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../../config.js';
import { classifyConnectProblem, errorDetail, serviceConnectError } from './errors.js';
import { probeTls } from './tls-probe.js';
import { readPem } from './pem.js';

/** Accepted by both Connection.connect (clients) and NativeConnection.connect (the worker). */
export interface TemporalConnectionOptions {
  address: string;
  tls?: ConnectionOptions['tls'];
  apiKey?: string;
}

/** Whether fleetview speaks TLS to Temporal: as set, else when anything TLS-ish (or an API key) is given. */
export function temporalUsesTls(temporal: Config['temporal']): boolean {
  const { tls } = temporal;
  return tls.enabled ?? Boolean(tls.caFile || tls.certFile || tls.serverName || temporal.apiKey);
}

/** Reads the PEM files now: a missing file fails here, naming its setting. */
export function temporalConnectionOptions(temporal: Config['temporal']): TemporalConnectionOptions {
  const { tls } = temporal;
  const options: TemporalConnectionOptions = { address: temporal.address };
  if (temporal.apiKey) options.apiKey = temporal.apiKey.reveal();
  if (!temporalUsesTls(temporal)) {
    // The SDK would turn TLS on for an API key: FLEETVIEW_TEMPORAL_TLS=false says no.
    options.tls = false;
    return options;
  }
  options.tls = {
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
    ...(tls.caFile ? { serverRootCACertificate: readPem('FLEETVIEW_TEMPORAL_TLS_CA_FILE', tls.caFile) } : {}),
    ...(tls.certFile && tls.keyFile
      ? { clientCertPair: { crt: readPem('FLEETVIEW_TEMPORAL_TLS_CERT_FILE', tls.certFile), key: readPem('FLEETVIEW_TEMPORAL_TLS_KEY_FILE', tls.keyFile) } }
      : {}),
  };
  return options;
}

/**
 * The error for a failed connection, naming Temporal, the address and the cause. The drivers say
 * little when TLS fails: grpc-js only that it did not connect in time, the worker's native
 * connection sometimes just "broken pipe" (with TLS 1.3 a server refuses a client certificate
 * after the client's side of the handshake, so the alert can lose the race with the first
 * write). Then one handshake with the same settings finds the reason.
 */
async function temporalConnectError(temporal: Config['temporal'], connectionOptions: TemporalConnectionOptions, err: unknown): Promise<Error> {
  const tls = typeof connectionOptions.tls === 'object' && connectionOptions.tls !== null ? connectionOptions.tls : undefined;
  const problem = classifyConnectProblem(errorDetail(err));
  if (!tls || (problem !== 'timeout' && problem !== 'not-tls')) return serviceConnectError('Temporal', temporal.address, err);
  const handshake = await probeTls(temporal.address, {
    http2: true,
    ...(tls.serverRootCACertificate ? { ca: Buffer.from(tls.serverRootCACertificate) } : {}),
    ...(tls.clientCertPair ? { cert: Buffer.from(tls.clientCertPair.crt), key: Buffer.from(tls.clientCertPair.key) } : {}),
    ...(tls.serverNameOverride ? { servername: tls.serverNameOverride } : {}),
  });
  return serviceConnectError('Temporal', temporal.address, handshake ? `${errorDetail(err)}; TLS handshake: ${handshake}` : err);
}

function checkedOptions(temporal: Config['temporal']): TemporalConnectionOptions {
  try {
    return temporalConnectionOptions(temporal);
  } catch (err) {
    throw serviceConnectError('Temporal', temporal.address, err);
  }
}

/** A client connection, checked with a real call; failures name Temporal, the address and the cause. */
export async function connectTemporalClient(temporal: Config['temporal'], options: { connectTimeoutMs?: number } = {}): Promise<Connection> {
  const connectionOptions = checkedOptions(temporal);
  try {
    return await Connection.connect({ ...connectionOptions, ...(options.connectTimeoutMs ? { connectTimeout: options.connectTimeoutMs } : {}) });
  } catch (err) {
    throw await temporalConnectError(temporal, connectionOptions, err);
  }
}

/** The worker's native connection; failures explained as for clients. */
export async function connectTemporalWorker(temporal: Config['temporal']): Promise<NativeConnection> {
  const connectionOptions = checkedOptions(temporal);
  try {
    return await NativeConnection.connect(connectionOptions);
  } catch (err) {
    throw await temporalConnectError(temporal, connectionOptions, err);
  }
}
