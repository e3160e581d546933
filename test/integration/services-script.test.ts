// scripts/services.sh itself: a second FerretDB on other ports and folders, so the shared
// services the rest of the suite uses are never disturbed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.js';

const script = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'fleetview-services-'));

function services(args: string[], env: Record<string, string>) {
  const result = spawnSync('bash', [script, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 180_000 });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

after(() => rmSync(scratch, { recursive: true, force: true }));

describe('scripts/services.sh', () => {
  it('starts, reports and stops a service it owns, leaving none of its processes', async () => {
    const env = {
      FLEETVIEW_RUN_DIR: join(scratch, 'run'),
      FLEETVIEW_DATA_DIR: join(scratch, 'data'),
      FLEETVIEW_MONGODB_PORT: String(await freePort()),
      FLEETVIEW_FERRETDB_DEBUG_PORT: String(await freePort()),
    };
    try {
      const start = services(['start', 'ferretdb'], env);
      assert.equal(start.status, 0, start.out);
      const pid = Number(readFileSync(join(scratch, 'run', 'ferretdb.pid'), 'utf8'));
      assert.ok(processAlive(pid));

      const status = services(['status', 'ferretdb'], env);
      assert.equal(status.status, 0, status.out);
      assert.match(status.out, new RegExp(`ferretdb\\s+up \\(pid ${pid}\\)\\s+mongodb://127\\.0\\.0\\.1:${env.FLEETVIEW_MONGODB_PORT}`));

      const again = services(['start', 'ferretdb'], env);
      assert.equal(again.status, 0, again.out);
      assert.match(again.out, /ferretdb already running/);

      const stop = services(['stop', 'ferretdb'], env);
      assert.equal(stop.status, 0, stop.out);
      assert.equal(processAlive(pid), false, 'the FerretDB process should be gone');
      assert.equal(existsSync(join(scratch, 'run', 'ferretdb.pid')), false);

      const down = services(['status', 'ferretdb'], env);
      assert.notEqual(down.status, 0);
      assert.match(down.out, /ferretdb\s+down/);
    } finally {
      services(['stop', 'ferretdb'], env);
    }
  });

  it('fails fast when a port is taken, naming the port and the service', async () => {
    const squatter: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as { port: number };
    try {
      const started = Date.now();
      const result = services(['start', 'kafka'], {
        FLEETVIEW_RUN_DIR: join(scratch, 'run-taken'),
        FLEETVIEW_DATA_DIR: join(scratch, 'data-taken'),
        FLEETVIEW_KAFKA_PORT: String(port),
      });
      assert.notEqual(result.status, 0);
      assert.match(result.out, new RegExp(`kafka cannot start: port ${port} on 127\\.0\\.0\\.1 is already in use.*FLEETVIEW_KAFKA_PORT`));
      assert.ok(Date.now() - started < 15_000, 'should fail without waiting for a readiness timeout');
      assert.equal(existsSync(join(scratch, 'run-taken', 'kafka.pid')), false, 'nothing should have been started');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('prints the variables config.ts reads, with values it accepts', () => {
    const result = services(['env'], { FLEETVIEW_KAFKA_PORT: '19092' });
    assert.equal(result.status, 0, result.out);
    const env = Object.fromEntries(
      result.out
        .split('\n')
        .filter((line) => line.startsWith('export '))
        .map((line) => line.slice('export '.length).split('=', 2) as [string, string]),
    );
    const config = loadConfig(env);
    assert.deepEqual(config.kafka.brokers, ['127.0.0.1:19092']);
    assert.equal(config.temporal.address, '127.0.0.1:7233');
    assert.equal(config.temporal.uiUrl, 'http://127.0.0.1:8233');
    assert.equal(config.mongodb.uri, 'mongodb://127.0.0.1:27017/');
  });

  it('rejects an unknown command or service with a usage message', () => {
    const unknownService = services(['start', 'postgres'], {});
    assert.equal(unknownService.status, 1);
    assert.match(unknownService.out, /unknown service 'postgres'/);
    const unknownCommand = services(['launch'], {});
    assert.equal(unknownCommand.status, 2);
    assert.match(unknownCommand.out, /install \| start|scripts\/services\.sh start/);
  });
});
