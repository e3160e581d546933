// The discovery side of the operators' audit trail against the real services: the CLI (spawned
// as operators run it) publishes DISCOVERY_APPLIED, DISCOVERY_DELETED, RETIREMENT_HOLD_RELEASED
// and DISCOVERY_PAUSED/RESUMED after its store change, read back from the topic with no secret in
// them; a Kafka that does not answer leaves the change applied and fails the command saying so.
// Also the store's part: a discovery's pause, and an operator's grace period of a cluster
// (cluster_controls) winning over the listing's when discovery retires it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { controlsCollectionName } from '../../src/adapters/control-store.js';
import { createDiscoveryStore, type DiscoveryStore } from '../../src/adapters/discovery-store/index.js';
import { createClusterStore, type ClusterStore } from '../../src/adapters/cluster-store.js';
import type { DiscoveryRecord } from '../../src/domain/discovery-record.js';
import type { FleetEvent } from '../../src/domain/event-catalogue.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { expectExit, runFleetview, type CliResult } from '../helpers/cli.js';
import { discoveryConfigEnv } from '../helpers/discovery.js';
import { testConfig } from '../helpers/test-config.js';
import { TopicReader } from '../helpers/topic-reader.js';
import { freePort } from '../helpers/isolated-service.js';
import { uniqueName } from '../helpers/unique.js';

const config = testConfig({ FLEETVIEW_DISCOVERY_SCHEDULE_ID: uniqueName('audit-schedule') });
const env: NodeJS.ProcessEnv = { ...process.env, ...discoveryConfigEnv(config) };
const secrets = ['s3cret-header', 's3cret-pass', 's3cret-query', 's3cret-user', 's3cret-body'];

let mongo: ClusterStore;
let store: DiscoveryStore;
let reader: TopicReader;
let dir: string;

function cli(args: string[], extra: Record<string, string> = {}): Promise<CliResult> {
  return runFleetview(args, { ...env, ...extra });
}

function settingsFile(name: string, interval: number): string {
  const path = join(dir, `${name}-${interval}.yaml`);
  writeFileSync(
    path,
    [
      `name: ${name}`,
      'backend: http',
      `interval: ${interval}`,
      'options:',
      '  url: "https://s3cret-user:s3cret-pass@inventory.example/discovery?token=s3cret-query"',
      '  headers: {Authorization: "Bearer s3cret-header"}',
      '  body: {api_key: s3cret-body, team: storage}',
      '',
    ].join('\n'),
  );
  return path;
}

const about = (discovery: string) => (events: FleetEvent[]) => events.filter((event) => event.category === 'DISCOVERY' && (event.payload as { discovery: string }).discovery === discovery);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleetview-audit-'));
  mongo = await createClusterStore(config.mongodb);
  store = createDiscoveryStore(mongo.db);
  await store.ensureIndexes();
  // The first command creates the topic (as fleetview start would): the reader waits for it.
  reader = new TopicReader(config);
  const applied = cli(['discovery', 'apply', '-f', settingsFile(uniqueName('audit-first'), 60)]);
  await reader.start({ waitForTopicMs: 60_000 });
  expectExit(await applied, 0, 'the first apply');
}, setupBound);

after(
  () =>
    cleanUp({
      'stopping the topic reader': () => reader?.stop(),
      'dropping the test database': () => mongo?.db.dropDatabase(),
      'closing the MongoDB store': () => mongo?.close(),
      'deleting the temp folder': () => dir && rmSync(dir, { recursive: true, force: true }),
    }),
  cleanupBound,
);

describe('audit events of the discovery commands', () => {
  it('apply: DISCOVERY_APPLIED when created or changed (before and after, secrets [redacted]), nothing when unchanged; delete: DISCOVERY_DELETED', async () => {
    const name = uniqueName('audit-apply');
    const events = about(name);
    expectExit(await cli(['discovery', 'apply', '-f', settingsFile(name, 60), '--actor', 'alice']), 0, 'apply (created)');
    const [created] = events(await reader.waitFor((all) => events(all).length === 1));
    assert.ok(created?.event === 'DISCOVERY_APPLIED');
    assert.equal(created.cluster_id, null);
    assert.match(created.id, new RegExp(`^discovery/${name}/\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z/DISCOVERY_APPLIED$`));
    assert.equal(created.payload.actor.user, 'alice');
    assert.match(created.payload.actor.identity ?? '', /^\d+@.+/, 'the Temporal identity of the CLI: <pid>@<host>');
    assert.equal(created.payload.before, null);
    const after = created.payload.after as { interval: number; options: { headers: Record<string, string>; body: Record<string, string> } };
    assert.equal(after.interval, 60);
    assert.deepEqual(after.options.headers, { Authorization: '[redacted]' });
    assert.deepEqual(Object.keys(after.options.body).sort(), ['api_key', 'team']);

    const unchanged = await cli(['discovery', 'apply', '-f', settingsFile(name, 60)]);
    expectExit(unchanged, 0, 'apply (unchanged)');
    assert.match(unchanged.stdout, /unchanged, due now/);
    expectExit(await cli(['discovery', 'apply', '-f', settingsFile(name, 120)]), 0, 'apply (updated)');
    const [, updated] = events(await reader.waitFor((all) => events(all).length >= 2));
    assert.ok(updated?.event === 'DISCOVERY_APPLIED', `the unchanged apply emitted nothing; got ${updated?.event}`);
    assert.deepEqual([(updated.payload.before as { interval: number }).interval, (updated.payload.after as { interval: number }).interval], [60, 120]);
    assert.notEqual(updated.payload.actor.user, 'alice', 'without --actor: the OS user');

    expectExit(await cli(['discovery', 'delete', name, '--actor', 'bob']), 0, 'delete');
    const deleted = events(await reader.waitFor((all) => events(all).length >= 3)).filter((e) => e.event === 'DISCOVERY_DELETED');
    assert.equal(deleted.length, 1);
    assert.ok(deleted[0]?.event === 'DISCOVERY_DELETED');
    assert.equal(deleted[0].payload.actor.user, 'bob');
    assert.equal(deleted[0].payload.after, null);
    assert.equal((deleted[0].payload.before as { interval: number }).interval, 120);
    assert.equal(events(reader.unique()).length, 3, 'one event per change');
  });

  it('release: RETIREMENT_HOLD_RELEASED with the count; a discovery holding nothing emits nothing', async () => {
    const name = uniqueName('audit-release');
    expectExit(await cli(['discovery', 'apply', '-f', settingsFile(name, 60)]), 0, 'apply');
    const ids = Array.from({ length: 6 }, (_, i) => `${name}-c${i}`);
    const record = (id: string): DiscoveryRecord => ({ cluster_id: id, display_name: null, nodes: [{ agent_address: `http://agents.test/${id}` }] });
    const now = Date.now();
    await store.saveListing({ discovery: name, at: new Date(now).toISOString(), grace_s: 120, changes: ids.map((id) => ({ record: record(id), is_new: true })), listed: ids });
    assert.equal((await store.saveListing({ discovery: name, at: new Date(now + 1000).toISOString(), grace_s: 120, changes: [], listed: ids.slice(0, 1) })).hold?.held, 5);

    expectExit(await cli(['discovery', 'release', name, '--actor', 'carol']), 0, 'release');
    const [released] = about(name)(await reader.waitFor((all) => about(name)(all).some((e) => e.event === 'RETIREMENT_HOLD_RELEASED'))).filter((e) => e.event === 'RETIREMENT_HOLD_RELEASED');
    assert.ok(released?.event === 'RETIREMENT_HOLD_RELEASED');
    assert.deepEqual([released.payload.discovery, released.payload.released, released.payload.actor.user], [name, 5, 'carol']);

    const nothing = await cli(['discovery', 'release', name]);
    expectExit(nothing, 0, 'release (nothing held)');
    assert.match(nothing.stdout, /holds no retirements/);
    // A later event of the same discovery on the same partition shows nothing came in between.
    expectExit(await cli(['discovery', 'delete', name]), 0, 'delete');
    const all = await reader.waitFor((events) => about(name)(events).some((e) => e.event === 'DISCOVERY_DELETED'));
    assert.deepEqual(about(name)(all).map((e) => e.event), ['DISCOVERY_APPLIED', 'RETIREMENT_HOLD_RELEASED', 'DISCOVERY_DELETED']);
  });

  it('pause: stored on the discovery, shown by list, DISCOVERY_PAUSED; a cluster whose workflow is gone fails the command (exit 1) naming it; resume: DISCOVERY_RESUMED', async () => {
    const name = uniqueName('audit-pause');
    expectExit(await cli(['discovery', 'apply', '-f', settingsFile(name, 60)]), 0, 'apply');
    const ghost = `${name}-ghost`;
    await store.saveListing({
      discovery: name,
      at: new Date().toISOString(),
      grace_s: 120,
      changes: [{ record: { cluster_id: ghost, display_name: null, nodes: [{ agent_address: 'http://agents.test/ghost' }] }, is_new: true }],
      listed: [ghost],
    });
    const paused = await cli(['discovery', 'pause', name, '--for', '2h', '--reason', 'inventory migration', '--actor', 'dave', '--timeout', '5']);
    expectExit(paused, 1, 'pause of a discovery whose cluster has no workflow');
    assert.match(paused.stdout, new RegExp(`discovery ${name} paused until \\S+: 0 of 1 clusters paused, 1 failed`));
    assert.match(paused.stderr, new RegExp(`${ghost}: no running workflow`));
    const stored = await store.getPause(name);
    assert.equal(stored?.reason, 'inventory migration');
    assert.equal(stored?.actor.user, 'dave');
    const end = Date.parse(stored?.until ?? '');
    assert.ok(Math.abs(end - Date.parse(stored?.since ?? '') - 7_200_000) < 1000, `until is since + 2h: ${stored?.since} → ${stored?.until}`);

    const list = await cli(['discovery', 'list']);
    expectExit(list, 0, 'list');
    assert.match(list.stdout, /PAUSED/);
    assert.match(list.stdout.split('\n').find((line) => line.startsWith(name)) ?? '', new RegExp(`until ${stored?.until} by dave: inventory migration`));

    const [event] = about(name)(await reader.waitFor((all) => about(name)(all).some((e) => e.event === 'DISCOVERY_PAUSED'))).filter((e) => e.event === 'DISCOVERY_PAUSED');
    assert.ok(event?.event === 'DISCOVERY_PAUSED');
    assert.deepEqual(
      { ...event.payload, actor: event.payload.actor.user },
      { actor: 'dave', discovery: name, reason: 'inventory migration', until: stored?.until ?? null, clusters: 0 },
    );
    assert.equal(event.id, `discovery/${name}/${stored?.since}/DISCOVERY_PAUSED`);

    // An apply keeps the operator's pause.
    expectExit(await cli(['discovery', 'apply', '-f', settingsFile(name, 90)]), 0, 'apply while paused');
    assert.equal((await store.getPause(name))?.reason, 'inventory migration');

    expectExit(await cli(['discovery', 'resume', name, '--timeout', '5']), 1, 'resume (the ghost fails again)');
    assert.equal(await store.getPause(name), null);
    const [resumed] = about(name)(await reader.waitFor((all) => about(name)(all).some((e) => e.event === 'DISCOVERY_RESUMED'))).filter((e) => e.event === 'DISCOVERY_RESUMED');
    assert.ok(resumed?.event === 'DISCOVERY_RESUMED');
    assert.deepEqual([resumed.payload.reason, resumed.payload.until, resumed.payload.clusters], ['inventory migration', stored?.until ?? null, 0]);
    expectExit(await cli(['discovery', 'pause', uniqueName('no-such'), '--reason', 'x']), 3, 'pause of an unknown discovery');
    expectExit(await cli(['discovery', 'resume', uniqueName('no-such')]), 3, 'resume of an unknown discovery');
  });

  it('no secret of the settings reaches the topic, in any message of these commands', () => {
    const raw = reader.received.map((message) => JSON.stringify(message));
    assert.ok(raw.length >= 10, `read ${raw.length} messages`);
    for (const text of raw) for (const secret of secrets) assert.ok(!text.includes(secret), `${secret} in ${text}`);
  });

  it('a Kafka that does not answer: the change is applied, the command exits 1 saying its audit event was not published, with the event on stderr', async () => {
    const name = uniqueName('audit-down');
    const result = await cli(['discovery', 'apply', '-f', settingsFile(name, 60)], { FLEETVIEW_KAFKA_BROKERS: `127.0.0.1:${await freePort()}` });
    expectExit(result, 1, 'apply with Kafka down');
    assert.match(result.stderr, new RegExp(`discovery ${name} applied, but its audit event DISCOVERY_APPLIED \\(id discovery/${name}/\\S+/DISCOVERY_APPLIED\\) could not be published`));
    assert.match(result.stderr, /the change stands/);
    const line = result.stderr.split('\n').find((text) => text.startsWith('{'));
    const unpublished = JSON.parse(line ?? 'null') as FleetEvent;
    assert.equal(unpublished.event, 'DISCOVERY_APPLIED');
    for (const secret of secrets) assert.ok(!result.stderr.includes(secret), `${secret} on stderr`);
    const stored = await store.getSetting(name);
    assert.ok(stored?.ok, 'the discovery is applied');
  });
});

describe('retirement with an operator grace period (cluster_controls)', () => {
  it('a cluster_retire_grace_s override wins over the listing grace_s, shorter or longer; the others keep the listing grace period', async () => {
    const name = uniqueName('grace');
    const [short, long, plain] = ['short', 'long', 'plain'].map((suffix) => `${name}-${suffix}`) as [string, string, string];
    const base = Date.parse('2026-11-24T10:00:00.000Z');
    const at = (s: number) => new Date(base + s * 1000);
    const record = (id: string): DiscoveryRecord => ({ cluster_id: id, display_name: null, nodes: [{ agent_address: `http://agents.test/${id}` }] });
    const ids = [short, long, plain];
    await store.saveListing({ discovery: name, at: at(0).toISOString(), grace_s: 100, changes: ids.map((id) => ({ record: record(id), is_new: true })), listed: ids });
    const controls = mongo.db.collection<{ _id: string }>(controlsCollectionName);
    const override = (id: string, grace: number) => ({ _id: id, revision: 1, operator: { cluster_retire_grace_s: grace }, pause: null, maintenance: null, updated_at: at(0) });
    await controls.insertMany([override(short, 10), override(long, 1000)]);
    // The discovery goes away: its clusters go missing at the next claim (t = 1).
    const retired = async (seconds: number) => {
      const pending = await store.claimRetirements(at(seconds), `retire@${seconds}`, []);
      return pending.filter((doc) => ids.includes(doc.cluster_id)).map((doc) => doc.cluster_id).sort();
    };
    assert.deepEqual(await retired(1), []);
    assert.deepEqual(await retired(12), [short], 'the override of 10 s: retired after 10 s, not the listing 100 s');
    assert.equal((await store.getCluster(short))?.grace_s, 10, 'the grace period applied is kept with the retirement');
    await store.completeRetirement(short, 'retire@12');
    assert.deepEqual(await retired(102), [plain], 'no override: the listing grace period');
    await store.completeRetirement(plain, 'retire@102');
    assert.deepEqual(await retired(900), [], 'the override of 1000 s holds it past the listing grace period');
    assert.deepEqual(await retired(1002), [long]);
    await store.completeRetirement(long, 'retire@1002');
  });
});
