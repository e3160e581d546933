// The discovery store against a real server (the embedded store of scripts/services.sh, or
// MongoDB): claims that exactly one run wins, listings that mark clusters missing only on
// positive evidence, retirements claimed once and finished once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDiscoveryStore, discoveryCollectionNames, type DiscoveryStore } from '../../src/adapters/discovery-store.js';
import { createMongoStore, type ClusterStore } from '../../src/adapters/mongo-store.js';
import type { DiscoveryRecord } from '../../src/domain/discovery-record.js';
import { discoverySetting } from '../helpers/discovery.js';
import { testConfig } from '../helpers/e2e.js';

const config = testConfig();
let mongo: ClusterStore;
let store: DiscoveryStore;

const at = (seconds: number) => new Date(Date.UTC(2026, 10, 24, 10, 0, seconds));
const iso = (seconds: number) => at(seconds).toISOString();
const record = (id: string, nodes: number): DiscoveryRecord => ({
  cluster_id: id,
  display_name: null,
  nodes: Array.from({ length: nodes }, (_, i) => ({ agent_address: `http://agents.test/${id}/n${i + 1}` })),
});
const setting = (name: string, interval = 10, enabled = true) =>
  discoverySetting({ name, backend: 'http', interval, enabled, options: { url: `http://inventory.test/${name}` } });

before(async () => {
  mongo = await createMongoStore(config.mongodb);
  store = createDiscoveryStore(mongo.db);
  await store.ensureIndexes();
});

after(async () => {
  await mongo?.db.dropDatabase();
  await mongo?.close();
});

describe('discovery settings', () => {
  it('applies: created, unchanged, updated, each time due at once', async () => {
    assert.equal(await store.applySetting(setting('apply-a'), at(0)), 'created');
    assert.equal(await store.applySetting(setting('apply-a'), at(5)), 'unchanged');
    assert.equal(await store.applySetting(setting('apply-a', 20), at(7)), 'updated');
    const stored = (await store.listSettings()).settings.find((s) => s.setting.name === 'apply-a');
    assert.equal(stored?.next_run, iso(7));
    assert.equal(stored?.setting.interval, 20);
    const read = await store.getSetting('apply-a');
    assert.ok(read?.ok && read.setting.backend === 'http' && read.setting.options.url === 'http://inventory.test/apply-a');
    assert.equal(await store.getSetting('no-such'), null);
    assert.equal(await store.deleteSetting('apply-a'), true);
    assert.equal(await store.deleteSetting('apply-a'), false);
  });

  it('is claimed by one run only, again by the same run (a retry), and moved on by its interval', async () => {
    await store.applySetting(setting('claim-a', 10), at(0));
    await store.applySetting(setting('claim-off', 10, false), at(0));
    const [first, second] = await Promise.all([store.claimDue(at(1), 'run-1'), store.claimDue(at(1), 'run-2')]);
    const winners = [first, second].filter((claim) => claim.claimed.some((s) => s.name === 'claim-a'));
    assert.equal(winners.length, 1, 'exactly one run claims it');
    assert.ok(!first.claimed.some((s) => s.name === 'claim-off') && !second.claimed.some((s) => s.name === 'claim-off'), 'disabled is never claimed');
    assert.ok(!first.enabled.includes('claim-off'));
    const winner = winners[0] === first ? 'run-1' : 'run-2';
    assert.ok((await store.claimDue(at(1), winner)).claimed.some((s) => s.name === 'claim-a'), 'a retry of the claim gets it back');
    assert.ok(!(await store.claimDue(at(10), 'run-3')).claimed.some((s) => s.name === 'claim-a'), 'not due before next_run');
    assert.ok((await store.claimDue(at(11), 'run-4')).claimed.some((s) => s.name === 'claim-a'), 'due at now + interval');
    assert.deepEqual(await store.makeDue(['claim-a', 'no-such'], at(12)), ['claim-a']);
    await store.deleteSetting('claim-a');
    await store.deleteSetting('claim-off');
  });

  it('reports a stored setting that no longer validates instead of running it', async () => {
    await mongo.db
      .collection(discoveryCollectionNames.settings)
      .insertOne({ _id: 'broken', name: 'broken', backend: 'ldap', enabled: true, interval: 5, options: {}, next_run: at(0), applied_at: at(0), claim: null, last_run: null } as never);
    const claim = await store.claimDue(at(1), 'run-broken');
    assert.ok(!claim.claimed.some((s) => s.name === 'broken'));
    assert.match(claim.invalid.find((bad) => bad.name === 'broken')?.problem ?? '', /stored discovery "broken"/);
    assert.equal((await store.getSetting('broken'))?.ok, false);
    await store.deleteSetting('broken');
  });
});

describe('listings and retirements', () => {
  it('marks a cluster missing only when no discovery vouches for it, and retires it once past the grace period', async () => {
    await store.applySetting(setting('list-a'), at(0));
    await store.applySetting(setting('list-b'), at(0));
    const enabled = ['list-a', 'list-b'];
    // Both discoveries list x; only a lists y.
    await store.saveListing({ discovery: 'list-a', at: iso(1), grace_s: 20, changes: [{ record: record('x', 2), is_new: true }, { record: record('y', 1), is_new: true }], listed: ['x', 'y'] });
    await store.saveListing({ discovery: 'list-b', at: iso(1), grace_s: 20, changes: [], listed: ['x'] });
    assert.deepEqual((await store.getCluster('x'))?.listed_by.sort(), ['list-a', 'list-b']);

    // a drops both: x stays (b still lists it), y goes missing.
    await store.saveListing({ discovery: 'list-a', at: iso(2), grace_s: 20, changes: [], listed: [] });
    assert.equal((await store.getCluster('x'))?.missing_since, null);
    assert.equal((await store.getCluster('y'))?.missing_since, iso(2));
    assert.deepEqual(await store.claimRetirements(at(21), 'retire@21', enabled), [], 'inside the grace period');

    // y is listed again: no longer missing.
    await store.saveListing({ discovery: 'list-a', at: iso(3), grace_s: 20, changes: [], listed: ['y'] });
    assert.equal((await store.getCluster('y'))?.missing_since, null);
    await store.saveListing({ discovery: 'list-a', at: iso(4), grace_s: 20, changes: [], listed: [] });

    // b is deleted: x goes missing at the next sweep.
    await store.deleteSetting('list-b');
    assert.deepEqual(await store.claimRetirements(at(5), 'retire@5', ['list-a']), []);
    assert.equal((await store.getCluster('x'))?.missing_since, iso(5));

    const retiring = await store.claimRetirements(at(24), 'retire@24', ['list-a']);
    assert.deepEqual(retiring.map((c) => [c.cluster_id, c.retired_run, c.retired_at]), [['y', 'retire@24', iso(24)]]);
    // Until finished, every run sees it again, with the run that retired it (one event id).
    assert.deepEqual((await store.claimRetirements(at(24), 'retire@24-other', ['list-a'])).map((c) => c.retired_run), ['retire@24']);
    await store.completeRetirement('y', 'retire@24');
    const later = await store.claimRetirements(at(26), 'retire@26', ['list-a']);
    assert.deepEqual(later.map((c) => c.cluster_id), ['x']);
    await store.completeRetirement('x', 'retire@26');
    assert.equal((await store.loadActive(['x', 'y'])).size, 0, 'retired clusters are not active');

    // y comes back: a new lifecycle.
    await store.saveListing({ discovery: 'list-a', at: iso(30), grace_s: 20, changes: [{ record: record('y', 3), is_new: true }], listed: ['y'] });
    const back = await store.getCluster('y');
    assert.deepEqual([back?.retired_at, back?.first_seen, back?.listed_by, back?.record.nodes.length], [null, iso(30), ['list-a'], 3]);
    await store.deleteSetting('list-a');
  });

  it('never lets an older run overwrite a newer record', async () => {
    await store.saveListing({ discovery: 'order', at: iso(10), grace_s: 20, changes: [{ record: record('z', 3), is_new: true }], listed: ['z'] });
    await store.saveListing({ discovery: 'order', at: iso(5), grace_s: 20, changes: [{ record: record('z', 1), is_new: false }], listed: ['z'] });
    const doc = await store.getCluster('z');
    assert.equal(doc?.record.nodes.length, 3);
    assert.equal(doc?.last_seen, iso(10));
  });
});
