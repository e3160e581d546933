// Large Temporal payloads kept in the real store (the External Storage driver) and the sweep that
// removes what no workflow history can reference any more, against the real Temporal server.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { StorageDriverClaim, type Payload } from '@temporalio/common';
import { MongoClient, type Db } from 'mongodb';
import { createPayloadStoreDriver, payloadCollections, sweepStoredPayloads } from '../../src/adapters/payload-store.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { waitUntil } from '../helpers/polling.js';
import { connectClient, terminateQuietly } from '../helpers/temporal.js';
import { testConfig } from '../helpers/test-config.js';
import { uniqueName } from '../helpers/unique.js';

const config = testConfig();
let mongo: MongoClient;
let db: Db;
let temporal: Awaited<ReturnType<typeof connectClient>>;

before(async () => {
  mongo = await new MongoClient(config.mongodb.uri, { serverSelectionTimeoutMS: 10_000 }).connect();
  db = mongo.db(config.mongodb.database);
  temporal = await connectClient(config);
}, setupBound);

after(
  () =>
    cleanUp({
      'dropping the test database': () => db?.dropDatabase(),
      'closing the store client': () => mongo?.close(),
      'closing the Temporal client': () => temporal?.close(),
    }),
  cleanupBound,
);

function payload(data: Uint8Array): Payload {
  return { metadata: { encoding: new TextEncoder().encode('json/plain') }, data };
}

const workflowTarget = (id: string) => ({ target: { kind: 'workflow' as const, namespace: 'default', id, runId: 'run-1' } });

describe('the payload store driver', () => {
  const driver = createPayloadStoreDriver({ db: () => db, timeoutMs: 10_000 });

  it('keeps a payload larger than a document in chunks and gives it back whole', async () => {
    // Random bytes do not compress: 9 MiB make three chunks.
    const data = new Uint8Array(randomBytes(9 * 1024 * 1024));
    const [claim] = await driver.store(workflowTarget('wf-big'), [payload(data)]);
    assert.ok(claim);
    const head = await db.collection(payloadCollections.heads).findOne({ _id: claim.claimData.key as never });
    assert.equal(head?.chunks, 3);
    assert.equal(head?.workflow_id, 'wf-big');
    const [back] = await driver.retrieve({}, [claim]);
    assert.deepEqual(Buffer.from(back!.data!), Buffer.from(data));
    assert.equal(new TextDecoder().decode(back!.metadata!.encoding), 'json/plain');
  });

  it('stores the same payload of one workflow once', async () => {
    const data = new TextEncoder().encode(JSON.stringify({ members: Array.from({ length: 5000 }, (_, i) => ({ address: `http://n${i}` })) }));
    const [first] = await driver.store(workflowTarget('wf-same'), [payload(data)]);
    const [second] = await driver.store(workflowTarget('wf-same'), [payload(data)]);
    assert.deepEqual(second?.claimData, first?.claimData);
    assert.equal(await db.collection(payloadCollections.heads).countDocuments({ workflow_id: 'wf-same' }), 1);
  });

  it('names the payload it cannot find', async () => {
    await assert.rejects(driver.retrieve({}, [new StorageDriverClaim({ key: 'no-such-key' })]), /stored payload no-such-key is not in the store/);
  });
});

describe('the payload sweep', () => {
  it('removes payloads once no run that could reference them exists, and keeps the rest', async () => {
    const heads = db.collection(payloadCollections.heads);
    const chunks = db.collection(payloadCollections.chunks);
    // A workflow with a run (no worker needed: it stays Running), and one with none.
    const running = await temporal.client.workflow.start('nothingToSeeHere', { taskQueue: uniqueName('nobody'), workflowId: uniqueName('sweep-running') });
    try {
      const description = await running.describe();
      await waitUntil(async () => {
        for await (const _ of temporal.client.workflow.list({ query: `WorkflowId = ${JSON.stringify(running.workflowId)}` })) return true;
        return false;
      }, 30_000, 'the started workflow did not show in visibility');
      const gone = uniqueName('sweep-gone');
      const hour = 3600_000;
      const put = async (key: string, workflowId: string | null, storedAt: Date) => {
        await heads.insertOne({ _id: key as never, workflow_id: workflowId, run_id: null, metadata: {}, chunks: 1, size: 1, stored_at: storedAt });
        await chunks.insertOne({ _id: `${key}/0` as never, key, index: 0, data: Buffer.from('x') });
      };
      const start = description.startTime.getTime();
      await put('before-the-first-run', running.workflowId, new Date(start - hour));
      await put('of-the-running-run', running.workflowId, new Date(start + 1000));
      await put('of-a-workflow-gone-long-ago', gone, new Date(Date.now() - hour));
      await put('of-a-workflow-just-started', gone, new Date());

      const result = await sweepStoredPayloads({ db, temporal: temporal.client, timeoutMs: 10_000 });
      assert.ok(result.removed >= 2);
      const left = new Set((await heads.find({ workflow_id: { $in: [running.workflowId, gone] } }).toArray()).map((doc) => String(doc._id)));
      assert.deepEqual([...left].sort(), ['of-a-workflow-just-started', 'of-the-running-run']);
      assert.equal(await chunks.countDocuments({ key: { $in: ['before-the-first-run', 'of-a-workflow-gone-long-ago'] } }), 0, 'their chunks went with them');
    } finally {
      await terminateQuietly(running);
    }
  });
});
