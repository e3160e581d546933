/**
 * How fleetview connects to Kafka: kafkajs' `ssl` and `sasl` options from `Config['kafka']`, for
 * the publisher, the topic admin and the CLI's event reader.
 */
import type { KafkaConfig } from 'kafkajs';
import type { Config } from '../../config.js';
import { readPem } from './pem.js';

export type KafkaSecurity = Pick<KafkaConfig, 'ssl' | 'sasl'>;

export function kafkaUsesTls(kafka: Config['kafka']): boolean {
  const { tls } = kafka;
  return tls.enabled ?? Boolean(tls.caFile || tls.certFile || tls.serverName || kafka.sasl.mechanism);
}

/** Reads the PEM files now: a missing file fails here, naming its setting. */
export function kafkaSecurity(kafka: Config['kafka']): KafkaSecurity {
  const { tls, sasl } = kafka;
  const security: KafkaSecurity = {};
  if (kafkaUsesTls(kafka)) {
    security.ssl = {
      ...(tls.caFile ? { ca: [readPem('FLEETVIEW_KAFKA_TLS_CA_FILE', tls.caFile)] } : {}),
      ...(tls.certFile && tls.keyFile ? { cert: readPem('FLEETVIEW_KAFKA_TLS_CERT_FILE', tls.certFile), key: readPem('FLEETVIEW_KAFKA_TLS_KEY_FILE', tls.keyFile) } : {}),
      ...(tls.serverName ? { servername: tls.serverName } : {}),
    };
  }
  if (sasl.mechanism && sasl.username && sasl.password) {
    const credentials = { username: sasl.username, password: sasl.password.reveal() };
    security.sasl = sasl.mechanism === 'plain' ? { mechanism: 'plain', ...credentials } : sasl.mechanism === 'scram-sha-256' ? { mechanism: 'scram-sha-256', ...credentials } : { mechanism: 'scram-sha-512', ...credentials };
  }
  return security;
}

/** kafkajs errors that mean "cannot use Kafka at all": unreachable, refused TLS, bad credentials. */
export function isKafkaConnectError(err: unknown): boolean {
  const name = (err as Error | undefined)?.name ?? '';
  return /^KafkaJS(ConnectionError|NumberOfRetriesExceeded|BrokerNotFound|SASLAuthenticationError|RequestTimeoutError|ConnectionClosedError)/.test(name);
}
