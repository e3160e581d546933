/**
 * A service of the test's own, started through scripts/services.sh on free ports and in its own
 * folders, for tests that must stop it or configure it differently from the shared one.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface IsolatedService {
  /** The script's environment for this instance (ports, folders). */
  env: Record<string, string>;
  start(): void;
  stop(): void;
  /** Sends a signal to the server's process group (services.sh starts each as a group leader). */
  signal(signal: NodeJS.Signals): void;
  /** Stops it and deletes its folders. */
  dispose(): void;
}

export function isolatedService(service: 'temporal' | 'kafka' | 'store', env: Record<string, string>): IsolatedService {
  const root = mkdtempSync(join(tmpdir(), `fleetview-${service}-`));
  const fullEnv = { FLEETVIEW_RUN_DIR: join(root, 'run'), FLEETVIEW_DATA_DIR: join(root, 'data'), ...env };
  // Synchronous, so a hook's own deadline cannot cut it short: each command carries its bound
  // (a stop within a cleanup step's, a start within a setup hook's).
  const call = (command: 'start' | 'stop') => {
    const result = spawnSync('bash', [script, command, service], { env: { ...process.env, ...fullEnv }, encoding: 'utf8', timeout: command === 'start' ? 180_000 : 30_000 });
    if (result.status !== 0) throw new Error(`services.sh ${command} ${service} failed:\n${result.stdout}${result.stderr}`);
  };
  return {
    env: fullEnv,
    start: () => call('start'),
    stop: () => call('stop'),
    signal(signal) {
      const pid = Number(readFileSync(join(fullEnv.FLEETVIEW_RUN_DIR, `${service}.pid`), 'utf8').trim());
      process.kill(-pid, signal);
    },
    dispose() {
      try {
        call('stop');
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}
