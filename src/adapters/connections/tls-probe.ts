/**
 * One TLS handshake with a client's own settings, to say why a connection failed when the driver
 * only says it did not connect in time (grpc-js: "Failed to connect before the deadline").
 */
import { isIP } from 'node:net';
import { connect, type ConnectionOptions } from 'node:tls';
import { tidyTlsMessage } from './errors.js';

/** HTTP/2's connection preface and an empty SETTINGS frame: a gRPC server answers with its SETTINGS. */
const http2Preface = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

export function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(address.slice(at + 1)) };
}

/**
 * The handshake's failure, or null when it succeeds and the server answers. With TLS 1.3 a
 * server refuses a client certificate only after the client's side of the handshake is done, so
 * success waits for the server's first bytes (an HTTP/2 SETTINGS frame when `http2` is set).
 */
export function probeTls(address: string, options: ConnectionOptions & { http2?: boolean }, timeoutMs = 3000): Promise<string | null> {
  const { host, port } = splitAddress(address);
  const { http2, ...tlsOptions } = options;
  const servername = tlsOptions.servername ?? (isIP(host) ? undefined : host);
  return new Promise((resolve) => {
    const socket = connect({ host, port, ...tlsOptions, ...(servername ? { servername } : {}), ...(http2 ? { ALPNProtocols: ['h2'] } : {}) });
    const done = (result: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.once('secureConnect', () => {
      if (http2) socket.write(http2Preface);
      else done(null);
    });
    socket.once('data', () => done(null));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const message = tidyTlsMessage(err.message);
      done(err.code && !message.includes(err.code) ? `${message} (${err.code})` : message);
    });
    socket.once('close', () => done('the server closed the connection during the TLS handshake'));
  });
}
