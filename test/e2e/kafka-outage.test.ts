// Kafka stops for a while: the workflow holds the events and retries; when Kafka returns, every
// event arrives, once by id, in order.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { refreshNowUpdate, refreshSignal } from '../../src/workflows/messages.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { startRefresherFixture, type RefresherFixture } from '../helpers/refresher-fixture.js';
import { waitForView } from '../helpers/temporal.js';
import { testConfig } from '../helpers/test-config.js';
import { TopicReader } from '../helpers/topic-reader.js';
import { freePort, isolatedService, type IsolatedService } from '../helpers/isolated-service.js';
import { uniqueName } from '../helpers/unique.js';

let kafkaServer: IsolatedService;
let fixture: RefresherFixture | undefined;
let config: ReturnType<typeof testConfig>;

before(async () => {
  const port = await freePort();
  kafkaServer = isolatedService('kafka', { FLEETVIEW_KAFKA_PORT: String(port), FLEETVIEW_KAFKA_CONTROLLER_PORT: String(await freePort()) });
  kafkaServer.start();
  config = testConfig({ FLEETVIEW_KAFKA_BROKERS: `127.0.0.1:${port}` });
  fixture = await startRefresherFixture(config, { nodes: 3, idPrefix: `${uniqueName('outage')}-` });
}, setupBound);

after(
  () =>
    cleanUp({
      'closing the refresher fixture': () => fixture?.close(),
      'stopping the isolated Kafka': () => kafkaServer?.dispose(),
    }),
  cleanupBound,
);

it('holds events while Kafka is down and delivers them in order when it returns', async () => {
  const { handle, sim } = fixture!;
  const first = await handle.executeUpdate(refreshNowUpdate);
  const clusterId = sim.records()[0]!.cluster_id;

  kafkaServer.stop();
  await fetch(`${sim.url}/admin/clusters/${clusterId}/nodes/n2/state`, { method: 'POST', body: JSON.stringify({ agent: 'down' }) });
  await handle.signal(refreshSignal);
  // The refresh computes its events, then waits on Kafka.
  const held = await waitForView(handle, (q) => q.phase === 'publishing' && q.events_pending > 0, 30_000, 'the refresh never held its events');
  assert.equal(held.view?.generation, first.generation, 'the view is not advanced past unpublished events');

  kafkaServer.start();
  const done = await waitForView(handle, (q) => (q.view?.generation ?? 0) > first.generation, 120_000, 'the held refresh never completed');
  assert.equal(done.view?.agents_down, 1);

  const reader = await new TopicReader(config).start();
  try {
    const events = await reader.waitFor((all) => all.some((e) => e.generation === done.view!.generation), 30_000);
    // Every event once (after dropping duplicates by id), ids dense and in order.
    const ids = events.map((e) => e.id);
    const expectedIds = events.map((e, i) => {
      const sameGeneration = events.slice(0, i).filter((o) => o.generation === e.generation).length;
      return `${clusterId}/${e.generation}/${sameGeneration}`;
    });
    assert.deepEqual(ids, expectedIds);
    assert.deepEqual(
      events.filter((e) => e.generation === done.view!.generation).map((e) => e.event),
      ['AGENT_DOWN', 'CLUSTER_STATUS_CHANGED'],
    );
    const partitionOrder = reader.received.map((r) => r.event.id);
    const firstSeen = partitionOrder.filter((id, i) => partitionOrder.indexOf(id) === i);
    assert.deepEqual(firstSeen, ids, 'Kafka holds the events in the order they were made');
  } finally {
    await reader.stop();
  }
});
