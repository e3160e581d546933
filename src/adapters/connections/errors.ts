/**
 * Why a service could not be reached, in words an operator can act on: the driver's own message
 * is kept in parentheses, and the setting to look at is named. Used by the worker, the CLI and
 * the demo, so a wrong CA, a missing client certificate or a bad password reads the same
 * everywhere: `Temporal at host:7233: TLS: the server's certificate is not trusted ...`.
 */
export type ServiceName = 'Temporal' | 'Kafka' | 'MongoDB';

/** The FLEETVIEW_* prefix of each service's settings. */
const settingsPrefix: Record<ServiceName, string> = {
  Temporal: 'FLEETVIEW_TEMPORAL',
  Kafka: 'FLEETVIEW_KAFKA',
  MongoDB: 'FLEETVIEW_MONGODB',
};

/** What went wrong, from the driver's message; null when it says nothing we can explain better. */
export type ConnectProblem = 'untrusted-certificate' | 'wrong-server-name' | 'client-certificate-refused' | 'not-tls' | 'authentication' | 'refused' | 'timeout';

const patterns: Array<[ConnectProblem, RegExp]> = [
  ['wrong-server-name', /does not match certificate|altnames|NotValidForName|CertNotValidForName|hostname mismatch/i],
  ['untrusted-certificate', /self[- ]signed|local issuer|UnknownIssuer|unknown ca|certificate verify failed|CERTIFICATE_VERIFY_FAILED|unable to verify|BadSignature|invalid peer certificate/i],
  ['client-certificate-refused', /certificate required|CertificateRequired|CERTIFICATE_REQUIRED|alert number 116|bad certificate|alert number 42|sslv3 alert handshake failure|peer did not return a certificate|tlsv13 alert certificate/i],
  ['not-tls', /wrong version number|WRONG_VERSION_NUMBER|packet length too long|InvalidContentType|corrupt message|http2 error.*frame|unexpected eof|ECONNRESET.*TLS|socket disconnected before secure TLS connection|closed the connection during the TLS handshake|BrokenPipe|^Closed connection$|: Closed connection|Canceled, "connection closed"/i],
  ['authentication', /SASL|authentication failed|Authentication failed|auth failed|Unauthenticated|UNAUTHENTICATED|PermissionDenied|Request unauthorized/i],
  ['refused', /ECONNREFUSED|connection refused|Connection refused/i],
  ['timeout', /timed? ?out|deadline/i],
];

export function classifyConnectProblem(message: string): ConnectProblem | null {
  for (const [problem, pattern] of patterns) if (pattern.test(message)) return problem;
  return null;
}

function explain(service: ServiceName, problem: ConnectProblem | null): string | null {
  const p = settingsPrefix[service];
  switch (problem) {
    case 'untrusted-certificate':
      return `TLS: the server's certificate is not trusted (is ${p}_TLS_CA_FILE the CA that signed it?)`;
    case 'wrong-server-name':
      return `TLS: the server's certificate is not for this host name (${p}_TLS_SERVER_NAME sets the name to check)`;
    case 'client-certificate-refused':
      return `TLS: the server refused the connection during the handshake: it wants a client certificate it trusts (${p}_TLS_CERT_FILE, ${p}_TLS_KEY_FILE)`;
    case 'not-tls':
      return `TLS: the handshake failed: the server may not speak TLS on this port, or it closed the connection (${p}_TLS)`;
    case 'authentication':
      return service === 'Kafka'
        ? 'authentication failed: check FLEETVIEW_KAFKA_SASL_MECHANISM, _USERNAME and _PASSWORD'
        : service === 'Temporal'
          ? 'the server refused the credentials (FLEETVIEW_TEMPORAL_API_KEY or the client certificate)'
          : 'authentication failed: check the user and password (FLEETVIEW_MONGODB_URI, _USERNAME, _PASSWORD)';
    case 'refused':
      return 'connection refused: is it running, and is this the right address?';
    case 'timeout':
      return 'no answer in time: is it running, reachable, and speaking the protocol this port expects (TLS or not)?';
    default:
      return null;
  }
}

/** A service that cannot be used, named with its address and the cause. */
export class ServiceConnectError extends Error {
  readonly problem: ConnectProblem | null;
  /** The cause in words, with the driver's message: the message without "<service> at <address>: ". */
  readonly reason: string;
  constructor(
    readonly service: ServiceName,
    readonly address: string,
    readonly detail: string,
  ) {
    const problem = classifyConnectProblem(detail);
    const explained = explain(service, problem);
    const reason = explained ? `${explained} (${detail})` : detail;
    super(`${service} at ${address}: ${reason}`);
    this.name = 'ServiceConnectError';
    this.problem = problem;
    this.reason = reason;
  }
}

/** OpenSSL's "80AC...:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:<file>:<line>:..." → its reason. */
export function tidyTlsMessage(message: string): string {
  return message.replace(/[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]*:([^:]+):[^\n]*\n?/g, '$1').trim();
}

/** The messages of an error and its causes, joined: drivers often hide the TLS reason in a cause. */
export function errorDetail(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const message = tidyTlsMessage(current instanceof Error ? current.message : typeof current === 'string' ? current : JSON.stringify(current));
    if (message && !parts.some((part) => part.includes(message))) parts.push(message);
    current = current instanceof Error ? (current as Error & { cause?: unknown; originalError?: unknown }).cause ?? (current as { originalError?: unknown }).originalError : undefined;
  }
  return parts.join(': ') || 'unknown error';
}

export function serviceConnectError(service: ServiceName, address: string, err: unknown): ServiceConnectError {
  if (err instanceof ServiceConnectError) return err;
  return new ServiceConnectError(service, address, errorDetail(err));
}
