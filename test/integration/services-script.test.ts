// scripts/services.sh itself: a second embedded store on other ports and folders, so the shared
// services the rest of the suite uses are never disturbed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { loadConfig } from '../../src/config.js';
import { cleanupBound } from '../helpers/bounded.js';
import { freePort } from '../helpers/isolated-service.js';

const script = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'fleetview-services-'));

function services(args: string[], env: Record<string, string>) {
  const result = spawnSync('bash', [script, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 180_000 });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

after(() => rmSync(scratch, { recursive: true, force: true }), cleanupBound);

describe('scripts/services.sh', () => {
  it('starts, reports and stops a service it owns, leaving none of its processes', async () => {
    const env = {
      FLEETVIEW_RUN_DIR: join(scratch, 'run'),
      FLEETVIEW_DATA_DIR: join(scratch, 'data'),
      FLEETVIEW_MONGODB_PORT: String(await freePort()),
    };
    try {
      const start = services(['start', 'store'], env);
      assert.equal(start.status, 0, start.out);
      const pid = Number(readFileSync(join(scratch, 'run', 'store.pid'), 'utf8'));
      assert.ok(processAlive(pid));

      const status = services(['status', 'store'], env);
      assert.equal(status.status, 0, status.out);
      assert.match(status.out, new RegExp(`store\\s+up \\(pid ${pid}\\)\\s+mongodb://127\\.0\\.0\\.1:${env.FLEETVIEW_MONGODB_PORT}`));

      const again = services(['start', 'store'], env);
      assert.equal(again.status, 0, again.out);
      assert.match(again.out, /store already running/);

      const stop = services(['stop', 'store'], env);
      assert.equal(stop.status, 0, stop.out);
      assert.equal(processAlive(pid), false, 'the store process should be gone');
      assert.equal(existsSync(join(scratch, 'run', 'store.pid')), false);

      const down = services(['status', 'store'], env);
      assert.notEqual(down.status, 0);
      assert.match(down.out, /store\s+down/);
    } finally {
      services(['stop', 'store'], env);
    }
  });

  it('the store keeps every acknowledged write across a SIGKILL and a restart', async () => {
    const env = {
      FLEETVIEW_RUN_DIR: join(scratch, 'run-kill'),
      FLEETVIEW_DATA_DIR: join(scratch, 'data-kill'),
      FLEETVIEW_MONGODB_PORT: String(await freePort()),
    };
    const uri = `mongodb://127.0.0.1:${env.FLEETVIEW_MONGODB_PORT}/`;
    try {
      const start = services(['start', 'store'], env);
      assert.equal(start.status, 0, start.out);
      const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
      const coll = client.db('fleetview_kill').collection<{ _id: string; generation: number }>('entities');
      await coll.insertMany(Array.from({ length: 200 }, (_, i) => ({ _id: `e${i}`, generation: 1 })));
      await coll.bulkWrite(
        Array.from({ length: 200 }, (_, i) => ({ updateOne: { filter: { _id: `e${i}`, generation: { $lt: 2 } }, update: { $set: { generation: 2 } }, upsert: true } })),
        { ordered: false },
      );
      await coll.deleteMany({ _id: { $in: ['e0', 'e1'] } });
      await client.close(true);

      const pid = Number(readFileSync(join(env.FLEETVIEW_RUN_DIR, 'store.pid'), 'utf8'));
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && processAlive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(processAlive(pid), false);

      const again = services(['start', 'store'], env);
      assert.equal(again.status, 0, again.out);
      const reopened = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
      try {
        const entities = reopened.db('fleetview_kill').collection('entities');
        assert.equal(await entities.countDocuments({}), 198);
        assert.equal(await entities.countDocuments({ generation: 2 }), 198);
        // The unique _id index holds after the restart: a duplicate is E11000, code 11000.
        await assert.rejects(entities.insertOne({ _id: 'e5' as never }), (err: { code?: number }) => err.code === 11000);
      } finally {
        await reopened.close(true);
      }
    } finally {
      services(['stop', 'store'], env);
    }
  });

  it('the store fails fast when its port is taken, naming the port and the variable', async () => {
    const squatter: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as { port: number };
    try {
      const result = services(['start', 'store'], {
        FLEETVIEW_RUN_DIR: join(scratch, 'run-store-taken'),
        FLEETVIEW_DATA_DIR: join(scratch, 'data-store-taken'),
        FLEETVIEW_MONGODB_PORT: String(port),
      });
      assert.notEqual(result.status, 0);
      assert.match(result.out, new RegExp(`store cannot start: port ${port} on 127\\.0\\.0\\.1 is already in use.*FLEETVIEW_MONGODB_PORT`));
      assert.equal(existsSync(join(scratch, 'run-store-taken', 'store.pid')), false, 'nothing should have been started');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
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
