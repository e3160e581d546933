// The discovery store against a real server (the embedded store of scripts/services.sh, or
// MongoDB): claims that exactly one run wins, listings that mark clusters missing only on
// positive evidence, retirements claimed once and finished once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDiscoveryStore, discoveryCollectionNames, type DiscoveredCluster, type DiscoveryStore } from '../../src/adapters/discovery-store/index.js';
import { createClusterStore, type ClusterStore } from '../../src/adapters/cluster-store.js';
import type { DiscoveryRecord } from '../../src/domain/discovery-record.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { discoverySetting } from '../helpers/discovery.js';
import { testConfig } from '../helpers/test-config.js';

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
  mongo = await createClusterStore(config.mongodb);
  store = createDiscoveryStore(mongo.db);
  await store.ensureIndexes();
}, setupBound);

after(
  () =>
    cleanUp({
      'dropping the test database': () => mongo?.db.dropDatabase(),
      'closing the MongoDB store': () => mongo?.close(),
    }),
  cleanupBound,
);

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

  it('a discovery of few clusters still retires them on time (below the guard\'s minimum)', async () => {
    await store.applySetting(setting('few'), at(0));
    await store.saveListing({ discovery: 'few', at: iso(1), grace_s: 20, changes: [{ record: record('few-1', 1), is_new: true }, { record: record('few-2', 1), is_new: true }], listed: ['few-1', 'few-2'] });
    assert.deepEqual(await store.saveListing({ discovery: 'few', at: iso(2), grace_s: 20, changes: [], listed: [] }), { hold: null });
    assert.equal((await store.getCluster('few-1'))?.missing_since, iso(2));
    assert.equal((await store.getCluster('few-2'))?.missing_since, iso(2));
    await store.deleteSetting('few');
  });

  it('never lets an older run overwrite a newer record', async () => {
    await store.saveListing({ discovery: 'order', at: iso(10), grace_s: 20, changes: [{ record: record('z', 3), is_new: true }], listed: ['z'] });
    await store.saveListing({ discovery: 'order', at: iso(5), grace_s: 20, changes: [{ record: record('z', 1), is_new: false }], listed: ['z'] });
    const doc = await store.getCluster('z');
    assert.equal(doc?.record.nodes.length, 3);
    assert.equal(doc?.last_seen, iso(10));
  });
});

describe('the retirement guard', () => {
  const fleet = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const listing = (discovery: string, seconds: number, listed: string[], fresh: string[] = []) => ({
    discovery,
    at: iso(seconds),
    grace_s: 20,
    changes: fresh.map((id) => ({ record: record(id, 1), is_new: true })),
    listed,
  });
  const held = async (discovery: string) => (await store.listSettings()).settings.find((s) => s.setting.name === discovery)?.retirement_hold ?? null;
  // Retirements are claimed store-wide: other tests' clusters come along.
  const retiredOf = async (prefix: string, claimed: Promise<DiscoveredCluster[]>) => (await claimed).map((c) => c.cluster_id).filter((id) => id.startsWith(`${prefix}-`));
  const missingOf = async (ids: string[]) => {
    const out: string[] = [];
    for (const id of ids) if ((await store.getCluster(id))?.missing_since) out.push(id);
    return out;
  };

  it('holds a run that drops most of the fleet: nothing goes missing, new and changed records are saved; the hold clears when the list recovers', async () => {
    const ids = fleet('hold', 10);
    await store.applySetting(setting('hold'), at(0));
    assert.deepEqual(await store.saveListing(listing('hold', 1, ids, ids)), { hold: null }, 'a first run is never held');

    // The answer shrinks to 2 of 10, plus a new cluster and a changed record.
    const truncated = await store.saveListing({
      ...listing('hold', 2, ['hold-0', 'hold-1', 'hold-new'], ['hold-new']),
      changes: [{ record: record('hold-new', 1), is_new: true }, { record: record('hold-0', 3), is_new: false }],
    });
    const first = { held: 8, previous: 10, listed: 3, since: iso(2), at: iso(2) };
    assert.deepEqual(truncated, { hold: first });
    assert.deepEqual(await held('hold'), first);
    assert.deepEqual(await missingOf(ids), [], 'nothing goes missing');
    const kept = await store.getCluster('hold-5');
    assert.deepEqual([kept?.listed_by, kept?.held_by], [['hold'], ['hold']]);
    assert.equal((await store.getCluster('hold-0'))?.record.nodes.length, 3, 'a changed record is saved while held');
    assert.deepEqual((await store.getCluster('hold-new'))?.listed_by, ['hold'], 'a new cluster is saved while held');
    assert.equal((await store.listSettings()).settings.find((s) => s.setting.name === 'hold')?.clusters, 11, 'held clusters still count as its clusters');
    assert.deepEqual(await retiredOf('hold', store.claimRetirements(at(40), 'retire@40', ['hold'])), [], 'nothing retires past the grace period');

    // Measured against the list from before the shrink: a later truncated run stays held, since kept.
    assert.deepEqual((await store.saveListing(listing('hold', 41, ['hold-0']))).hold, { held: 10, previous: 11, listed: 1, since: iso(2), at: iso(41) });
    assert.equal((await store.claimDue(at(41), 'tick-41')).held.hold, 10, 'each tick reads the holds for the gauge');

    // The list recovers but for one cluster: that one retires as usual, the hold is gone.
    assert.deepEqual(await store.saveListing(listing('hold', 42, [...ids.slice(1), 'hold-new'])), { hold: null });
    assert.equal(await held('hold'), null);
    assert.deepEqual(await missingOf([...ids, 'hold-new']), ['hold-0']);
    assert.deepEqual((await store.getCluster('hold-5'))?.held_by, []);
    assert.equal((await store.claimDue(at(43), 'tick-43')).held.hold, 0);
    await store.deleteSetting('hold');
  });

  it('reads a settings document stored before the guard existed with the defaults, and applies it unchanged', async () => {
    const old = setting('before-guard');
    await mongo.db.collection(discoveryCollectionNames.settings).insertOne({
      _id: 'before-guard',
      name: old.name,
      backend: old.backend,
      enabled: true,
      interval: old.interval,
      options: old.options,
      next_run: at(0),
      applied_at: at(0),
      claim: null,
      last_run: null,
    } as never);
    const read = await store.getSetting('before-guard');
    assert.deepEqual(read?.ok && read.setting.retirement_guard, { max_missing_share: 0.5, min_missing: 3 });
    assert.equal((await store.listSettings()).settings.find((s) => s.setting.name === 'before-guard')?.retirement_hold, null);
    assert.equal(await store.applySetting(old, at(1)), 'unchanged');
    await store.deleteSetting('before-guard');
  });

  it('catches a drip: clusters dropped earlier and still in their grace period count, and are held too', async () => {
    const ids = fleet('drip', 10);
    await store.applySetting(setting('drip'), at(0));
    await store.saveListing(listing('drip', 1, ids, ids));
    assert.deepEqual(await store.saveListing(listing('drip', 2, ids.slice(0, 7))), { hold: null }, '3 of 10 retire as usual');
    assert.deepEqual(await missingOf(ids), ['drip-7', 'drip-8', 'drip-9']);
    // 7 → 4 alone is 3 of 7; with the 3 in their grace period, 6 of 10 would go missing.
    assert.equal((await store.saveListing(listing('drip', 3, ids.slice(0, 4)))).hold?.held, 6);
    assert.deepEqual(await missingOf(ids), [], 'those in their grace period are held as well');
    assert.deepEqual(await retiredOf('drip', store.claimRetirements(at(30), 'retire@30', ['drip'])), []);
    await store.deleteSetting('drip');
  });

  it('is released by an operator: the held clusters go missing now and retire after their grace period; the next run is measured from there', async () => {
    const ids = fleet('release', 6);
    await store.applySetting(setting('release'), at(0));
    assert.deepEqual(await store.releaseHold('release', at(1)), { hold: null, released: 0, grace_s: 0 }, 'nothing to release');
    assert.equal(await store.releaseHold('no-such-discovery', at(1)), null);
    await store.saveListing(listing('release', 1, ids, ids));
    assert.equal((await store.saveListing(listing('release', 2, ids.slice(0, 1)))).hold?.held, 5);

    const released = await store.releaseHold('release', at(5));
    assert.deepEqual(released, { hold: { held: 5, previous: 6, listed: 1, since: iso(2), at: iso(2) }, released: 5, grace_s: 20 });
    assert.equal(await held('release'), null);
    assert.deepEqual(await missingOf(ids), ids.slice(1));
    assert.equal((await store.getCluster('release-3'))?.missing_since, iso(5), 'the grace period starts at the release');

    // The same short list again is ordinary now.
    assert.deepEqual(await store.saveListing(listing('release', 6, ids.slice(0, 1))), { hold: null });
    assert.deepEqual(await retiredOf('release', store.claimRetirements(at(24), 'retire@24', ['release'])), [], 'inside the grace period');
    assert.deepEqual(await retiredOf('release', store.claimRetirements(at(26), 'retire@26', ['release'])), ids.slice(1));
    for (const id of ids.slice(1)) await store.completeRetirement(id, 'retire@26');
    await store.deleteSetting('release');
  });

  it('holds nothing for clusters another discovery lists, follows per-discovery settings, and goes with a disabled discovery', async () => {
    const ids = fleet('pair', 10);
    await store.applySetting(setting('pair-a'), at(0));
    await store.applySetting(setting('pair-b'), at(0));
    await store.saveListing(listing('pair-a', 1, ids, ids));
    await store.saveListing(listing('pair-b', 1, ids.slice(0, 6)));
    // a lists nothing: 6 are listed by b, 4 would go missing: not more than half.
    assert.deepEqual(await store.saveListing(listing('pair-a', 2, [])), { hold: null });
    assert.deepEqual(await missingOf(ids), ids.slice(6));

    // A guard that is stricter for b: 2 clusters at once are enough.
    await store.applySetting(discoverySetting({ name: 'pair-b', backend: 'http', interval: 10, retirement_guard: { max_missing_share: 0.2, min_missing: 2 }, options: { url: 'http://inventory.test/pair-b' } }), at(2));
    assert.equal((await store.saveListing(listing('pair-b', 3, ids.slice(0, 4)))).hold?.held, 2);

    // b is disabled: its hold goes, its clusters go missing at the next sweep.
    await store.applySetting(discoverySetting({ name: 'pair-b', backend: 'http', interval: 10, enabled: false, options: { url: 'http://inventory.test/pair-b' } }), at(4));
    assert.deepEqual(await retiredOf('pair', store.claimRetirements(at(5), 'retire@5', ['pair-a'])), []);
    assert.equal(await held('pair-b'), null);
    assert.deepEqual((await store.getCluster('pair-4'))?.held_by, []);
    assert.equal((await store.getCluster('pair-4'))?.missing_since, iso(5));
    await store.deleteSetting('pair-a');
    await store.deleteSetting('pair-b');
  });
});
