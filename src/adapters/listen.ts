import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Starts `server` listening; a taken port or a bad address rejects with what could not listen
 * where, and the setting to change. Resolves with the port (0 picks a free one) and a URL to
 * reach it (127.0.0.1 for a server on every address).
 */
export async function listen(server: Server, host: string, port: number, what: string, portSetting: string): Promise<{ url: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const hint = err.code === 'EADDRINUSE' ? ` (taken by another process: choose another ${portSetting})` : '';
      reject(new Error(`${what} cannot listen on ${host}:${port}: ${err.code ?? err.message}${hint}`));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shown === '0.0.0.0' || shown === '[::]' ? '127.0.0.1' : shown}:${bound}`, port: bound };
}

/**
 * Closes `server`: no new connections, idle ones closed at once, and whatever still holds on
 * (a long request, an event stream) closed after `graceMs`. Resolves when the server has closed.
 */
export function closeServer(server: Server, graceMs = 2_000): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), graceMs).unref();
  });
}
