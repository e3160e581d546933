/**
 * The three discovery sources against real files and real servers (the sim, and small servers
 * for the bad cases): pagination, never-ending cursors, invalid records, failures that must
 * not look like "all clusters gone", and last good content of broken files.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  createDiscoverySource,
  createDiscoverySourceCache,
  createFileSource,
  createHttpSdSource,
  createHttpSource,
  DiscoverySourceError,
  parseDiscoverySetting,
} from '../../src/adapters/discovery/index.js';
import type { DiscoverySetting, DiscoverySource } from '../../src/adapters/discovery/index.js';
import type { DiscoveryRecord } from '../../src/domain/discovery-record.js';
import { startSim } from '../../src/sim/index.js';
import type { SimHandle } from '../../src/sim/index.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { TestPki } from '../helpers/tls.js';
import { sendJson, startServer } from './helpers/http-servers.js';
import type { TestServer } from './helpers/http-servers.js';

let sim: SimHandle;
let dir: string;
const opened: DiscoverySource[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleetview-discovery-'));
  sim = await startSim({ clusters: 5, nodes: 2, pageSize: 2, discoveryFile: join(dir, 'sim-discovery.json') });
}, setupBound);

after(
  () =>
    cleanUp({
      'closing the discovery sources': () => {
        for (const source of opened) source.close();
      },
      'stopping the sim': () => sim.close(),
      'deleting the temp folder': () => rmSync(dir, { recursive: true, force: true }),
    }),
  cleanupBound,
);

function track<T extends DiscoverySource>(source: T): T {
  opened.push(source);
  return source;
}

/** The sim's records as a source must return them (URL strings become node objects). */
function simRecords(): DiscoveryRecord[] {
  return sim.records().map((r) => ({ cluster_id: r.cluster_id, display_name: r.display_name, nodes: r.nodes.map((url) => ({ agent_address: url })) }));
}

function write(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

async function withServer(handler: Parameters<typeof startServer>[0], check: (server: TestServer) => Promise<void>): Promise<void> {
  const server = await startServer(handler);
  try {
    await check(server);
  } finally {
    await server.close();
  }
}

async function rejectsWith(source: DiscoverySource, pattern: RegExp): Promise<void> {
  await assert.rejects(source.discover(), (error: unknown) => {
    assert.ok(error instanceof DiscoverySourceError, String(error));
    assert.equal(error.source, source.name);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('file source', () => {
  test('reads the discovery file the sim writes', async () => {
    const source = createFileSource('sim-file', { path: join(dir, 'sim-discovery.json') });
    assert.deepEqual(await source.discover(), { records: simRecords(), errors: [] });
  });

  test('YAML with both node forms, normalized', async () => {
    const path = write(
      'both-forms.yaml',
      `- cluster_id: rs0
  display_name: Orders replica set
  nodes: ["https://mongo-1:37017/", "https://mongo-2:37017"]
- cluster_id: kafka-a
  nodes:
    - {agent_address: "http://broker-1:8080", node_id: broker-1, node_class: kafka, node_group: az1}
    - agent_address: http://broker-2:8080
`,
    );
    const result = await createFileSource('yaml', { path }).discover();
    assert.deepEqual(result, {
      records: [
        { cluster_id: 'rs0', display_name: 'Orders replica set', nodes: [{ agent_address: 'https://mongo-1:37017' }, { agent_address: 'https://mongo-2:37017' }] },
        {
          cluster_id: 'kafka-a',
          display_name: null,
          nodes: [{ agent_address: 'http://broker-1:8080', node_id: 'broker-1', node_class: 'kafka', node_group: 'az1' }, { agent_address: 'http://broker-2:8080' }],
        },
      ],
      errors: [],
    });
  });

  test('a glob reads the matching files in name order, skipping dotfiles and other names', async () => {
    const globDir = mkdtempSync(join(dir, 'glob-'));
    writeFileSync(join(globDir, 'b.yaml'), '- {cluster_id: b, nodes: ["http://b:1"]}');
    writeFileSync(join(globDir, 'a.yaml'), '[{"cluster_id": "a", "nodes": ["http://a:1"]}]');
    writeFileSync(join(globDir, '.c.yaml'), 'broken: [');
    writeFileSync(join(globDir, 'd.yml.bak'), 'broken: [');
    const result = await createFileSource('glob', { path: join(globDir, '*.y?ml') }).discover();
    assert.deepEqual(
      result.records.map((r) => r.cluster_id),
      ['a', 'b'],
    );
    assert.deepEqual(result.errors, []);
  });

  test('no file matching the glob, or a missing file, fails the source', async () => {
    await rejectsWith(createFileSource('none', { path: join(dir, 'nothing-*.yaml') }), /no file matches/);
    await rejectsWith(createFileSource('missing', { path: join(dir, 'missing.yaml') }), /missing\.yaml: cannot read the file \(ENOENT\)/);
    assert.throws(() => createFileSource('bad-glob', { path: join(dir, '*', 'x.yaml') }), DiscoverySourceError);
  });

  test('a file that stops parsing keeps its last good content, with an error; the fix is picked up', async () => {
    const path = write('flaky.json', [{ cluster_id: 'rs0', display_name: null, nodes: ['http://a:1'] }]);
    const source = createFileSource('flaky', { path });
    const good = await source.discover();
    assert.deepEqual(good.errors, []);

    write('flaky.json', '[{"cluster_id": "rs0", "nodes": [');
    const broken = await source.discover();
    assert.deepEqual(broken.records, good.records);
    assert.equal(broken.errors.length, 1);
    assert.match(broken.errors[0]?.message ?? '', /^discovery "flaky": .*flaky\.json: not valid YAML or JSON: .*; keeping its last good content, read at \d{4}-/);

    write('flaky.json', '');
    assert.deepEqual((await source.discover()).records, good.records);

    write('flaky.json', [{ cluster_id: 'rs1', nodes: ['http://b:1'] }]);
    const fixed = await source.discover();
    assert.deepEqual(fixed, { records: [{ cluster_id: 'rs1', display_name: null, nodes: [{ agent_address: 'http://b:1' }] }], errors: [] });
  });

  test('a broken file with no good content to fall back on fails the source, naming the file', async () => {
    await rejectsWith(createFileSource('broken', { path: write('broken.yaml', 'clusters: [') }), /broken\.yaml: not valid YAML or JSON/);
    await rejectsWith(createFileSource('empty', { path: write('empty.json', '  \n') }), /empty\.json: the file is empty/);
    await rejectsWith(createFileSource('object', { path: write('object.json', { cluster_id: 'rs0' }) }), /expected a list of records, got an object/);
  });

  test('invalid records are skipped with errors naming the source and the record; duplicates across files name both', async () => {
    const globDir = mkdtempSync(join(dir, 'mixed-'));
    writeFileSync(
      join(globDir, '1.json'),
      JSON.stringify([
        { cluster_id: 'good', nodes: ['http://a:1'] },
        { cluster_id: 'bad id!', nodes: ['http://a:1'] },
        { cluster_id: 'bad-url', nodes: ['mongo-1:37017'] },
      ]),
    );
    writeFileSync(join(globDir, '2.json'), JSON.stringify([{ cluster_id: 'good', nodes: ['http://b:1'] }, { cluster_id: 'other', nodes: [] }]));
    const result = await createFileSource('mixed', { path: join(globDir, '*.json') }).discover();
    assert.deepEqual(
      result.records.map((r) => [r.cluster_id, r.nodes.map((n) => n.agent_address)]),
      [
        ['good', ['http://a:1']],
        ['other', []],
      ],
    );
    const file1 = join(globDir, '1.json');
    const file2 = join(globDir, '2.json');
    assert.deepEqual(
      result.errors.map((e) => [e.location, e.cluster_id]),
      [
        // An invalid id cannot have a record to keep: the problem names no cluster.
        [`${file1} records[1]`, undefined],
        [`${file1} records[2]`, 'bad-url'],
        [`${file2} records[0]`, 'good'],
      ],
    );
    assert.match(result.errors[0]?.message ?? '', /^discovery "mixed": .*1\.json records\[1\] skipped: invalid cluster id "bad id!"/);
    assert.match(result.errors[1]?.message ?? '', /nodes\[0\]: invalid agent address "mongo-1:37017"/);
    assert.equal(result.errors[2]?.message, `discovery "mixed": cluster_id "good" listed twice, at ${file1} records[0] and at ${file2} records[0]: the second is ignored`);
  });

  test('a file removed from the glob takes its clusters with it', async () => {
    const globDir = mkdtempSync(join(dir, 'shrink-'));
    writeFileSync(join(globDir, 'a.json'), JSON.stringify([{ cluster_id: 'a', nodes: [] }]));
    writeFileSync(join(globDir, 'b.json'), JSON.stringify([{ cluster_id: 'b', nodes: [] }]));
    const source = createFileSource('shrink', { path: join(globDir, '*.json') });
    assert.equal((await source.discover()).records.length, 2);
    unlinkSync(join(globDir, 'b.json'));
    assert.deepEqual(
      (await source.discover()).records.map((r) => r.cluster_id),
      ['a'],
    );
  });
});

describe('http source (Replicante protocol)', () => {
  test('POST follows the sim cursor through every page', async () => {
    const before = sim.stats().requests;
    const source = track(createHttpSource('sim-post', { url: `${sim.url}/discovery` }));
    assert.deepEqual(await source.discover(), { records: simRecords(), errors: [] });
    assert.equal(sim.stats().requests - before, 3, 'five clusters, two per page');
  });

  test('GET takes everything in one answer', async () => {
    const source = track(createHttpSource('sim-get', { url: `${sim.url}/discovery`, method: 'GET' }));
    assert.deepEqual(await source.discover(), { records: simRecords(), errors: [] });
  });

  test('sends the configured body with the cursor, and the headers', async () => {
    const bodies: unknown[] = [];
    await withServer(
      (req, res) => {
        let text = '';
        req.on('data', (chunk: Buffer) => (text += chunk.toString()));
        req.on('end', () => {
          const body = JSON.parse(text) as { cursor: string | null };
          bodies.push(body);
          const page = body.cursor === null ? { clusters: [{ cluster_id: 'a', nodes: [] }], cursor: 'next-1' } : { clusters: [{ cluster_id: 'b', nodes: [] }], cursor: null };
          sendJson(res, 200, page);
        });
      },
      async (server) => {
        const source = track(createHttpSource('body', { url: `${server.url}/d`, body: { team: 'storage' }, headers: { Authorization: 'Bearer t' } }));
        const result = await source.discover();
        assert.deepEqual(
          result.records.map((r) => r.cluster_id),
          ['a', 'b'],
        );
        assert.deepEqual(bodies, [
          { team: 'storage', cursor: null },
          { team: 'storage', cursor: 'next-1' },
        ]);
        assert.equal(server.lastHeaders().authorization, 'Bearer t');
      },
    );
  });

  test('a cursor chain that never ends is cut off with an error after max pages', async () => {
    let page = 0;
    await withServer(
      (_req, res) => sendJson(res, 200, { clusters: [{ cluster_id: `c${page}`, nodes: [] }], cursor: `page-${++page}` }),
      async (server) => {
        const source = track(createHttpSource('endless', { url: server.url, maxPages: 5 }));
        await rejectsWith(source, /cursor chain cut off after 5 pages/);
        assert.equal(server.requests.length, 5);
      },
    );
  });

  test('a cursor that comes back is a loop, failed at once', async () => {
    await withServer(
      (_req, res) => sendJson(res, 200, { clusters: [], cursor: 'same' }),
      async (server) => {
        await rejectsWith(track(createHttpSource('loop', { url: server.url })), /cursor "same" returned twice/);
        assert.equal(server.requests.length, 2);
      },
    );
  });

  test('a failing page fails the whole run (never a partial list)', async () => {
    await withServer(
      (req, res) => {
        let text = '';
        req.on('data', (chunk: Buffer) => (text += chunk.toString()));
        req.on('end', () => {
          const { cursor } = JSON.parse(text) as { cursor: string | null };
          if (cursor === null) return sendJson(res, 200, { clusters: [{ cluster_id: 'a', nodes: [] }], cursor: 'p2' });
          sendJson(res, 500, { error: 'inventory database unavailable' });
        });
      },
      async (server) => {
        await rejectsWith(track(createHttpSource('fails', { url: server.url })), /page 2: HTTP 500: inventory database unavailable/);
      },
    );
  });

  test('answers of the wrong shape, a GET that pages, and timeouts fail the source', async () => {
    await withServer(
      (req, res) => {
        if (req.url === '/list') return sendJson(res, 200, [{ cluster_id: 'a', nodes: [] }]);
        if (req.url === '/no-clusters') return sendJson(res, 200, { cursor: null });
        if (req.url === '/get-cursor') return sendJson(res, 200, { clusters: [], cursor: 'more' });
        // '/hang': never answers
      },
      async (server) => {
        await rejectsWith(track(createHttpSource('list', { url: `${server.url}/list` })), /expected \{"clusters": \[\.\.\.\], "cursor": \.\.\.\}, got a list/);
        await rejectsWith(track(createHttpSource('no-clusters', { url: `${server.url}/no-clusters` })), /"clusters" must be a list, got nothing/);
        await rejectsWith(track(createHttpSource('get-cursor', { url: `${server.url}/get-cursor`, method: 'GET' })), /GET .* returned a cursor/);
        await rejectsWith(track(createHttpSource('hang', { url: `${server.url}/hang`, timeoutMs: 200 })), /page 1: timeout after 200 ms/);
      },
    );
  });

  test('invalid records on a page are skipped, named by page and index', async () => {
    await withServer(
      (_req, res) => sendJson(res, 200, { clusters: [{ cluster_id: 'a', nodes: [] }, { cluster_id: 'b', nodes: 'http://b:1' }], cursor: null }),
      async (server) => {
        const result = await track(createHttpSource('partial', { url: server.url })).discover();
        assert.deepEqual(
          result.records.map((r) => r.cluster_id),
          ['a'],
        );
        assert.equal(result.errors.length, 1);
        assert.equal(result.errors[0]?.location, 'page 1 clusters[1]');
        assert.equal(result.errors[0]?.message, 'discovery "partial": page 1 clusters[1] (cluster_id "b") skipped: nodes must be a list of agent URLs or node objects, got a string');
      },
    );
  });

  test('over TLS with a CA bundle', async () => {
    const pki = new TestPki();
    const ca = pki.ca('discovery-ca');
    const cert = pki.issue(ca, 'discovery', 'server', ['127.0.0.1', 'localhost']);
    const server = await startServer((_req, res) => sendJson(res, 200, { clusters: [{ cluster_id: 'tls', nodes: [] }], cursor: null }), { cert: readFileSync(cert.cert), key: readFileSync(cert.key) });
    try {
      const verified = track(createHttpSource('tls', { url: server.url, tls: { caFile: ca.cert } }));
      assert.deepEqual((await verified.discover()).records, [{ cluster_id: 'tls', display_name: null, nodes: [] }]);
      await rejectsWith(track(createHttpSource('tls-unverified', { url: server.url })), /TLS: unable to verify/);
    } finally {
      await server.close();
      pki.dispose();
    }
  });
});

describe('http_sd source (Prometheus target groups)', () => {
  test('reads the sim: groups per node add up to one record per cluster, URLs from the address label', async () => {
    const source = track(createHttpSdSource('sim-sd', { url: `${sim.url}/http_sd` }));
    assert.deepEqual(await source.discover(), { records: simRecords(), errors: [] });
  });

  test('host:port targets become <scheme>://target; groups are merged; bad groups are skipped with errors', async () => {
    const groups = [
      { targets: ['mongo-1:37017', 'mongo-2:37017'], labels: { cluster_id: 'rs0', job: 'replicante' } },
      { targets: ['mongo-3:37017', 'mongo-1:37017'], labels: { cluster_id: 'rs0', __scheme__: 'https' } },
      { targets: ['broker-1:8080'], labels: { team: 'x' } },
      { targets: ['not a target'], labels: { cluster_id: 'bad' } },
      { targets: ['a:1', 'b:1'], labels: { cluster_id: 'two', agent_url: 'http://a:1' } },
      { targets: ['k:1'], labels: { cluster_id: 'k', agent_url: 'http://k:1/agent/' } },
      'nonsense',
    ];
    await withServer(
      (_req, res) => sendJson(res, 200, groups),
      async (server) => {
        const result = await track(createHttpSdSource('sd', { url: server.url, addressLabel: 'agent_url' })).discover();
        assert.deepEqual(result.records, [
          {
            cluster_id: 'rs0',
            display_name: null,
            nodes: [{ agent_address: 'http://mongo-1:37017' }, { agent_address: 'http://mongo-2:37017' }, { agent_address: 'https://mongo-3:37017' }, { agent_address: 'https://mongo-1:37017' }],
          },
          { cluster_id: 'k', display_name: null, nodes: [{ agent_address: 'http://k:1/agent' }] },
        ]);
        assert.deepEqual(
          result.errors.map((e) => [e.location, e.cluster_id]),
          [
            ['groups[2]', undefined],
            ['groups[3]', 'bad'],
            ['groups[4]', 'two'],
            ['groups[6]', undefined],
          ],
        );
        assert.match(result.errors[0]?.message ?? '', /^discovery "sd": target group groups\[2\] skipped: no "cluster_id" label naming the cluster$/);
        assert.match(result.errors[1]?.message ?? '', /target "not a target" is not host:port/);
        assert.match(result.errors[2]?.message ?? '', /the address label applies to one target, the group has 2/);
      },
    );
  });

  test('a configurable cluster label, and a failing endpoint fails the source', async () => {
    await withServer(
      (req, res) => {
        if (req.url === '/sd') return sendJson(res, 200, [{ targets: ['z:2181'], labels: { ensemble: 'zk-main' } }]);
        if (req.url === '/object') return sendJson(res, 200, { targets: [] });
        res.writeHead(503, { 'content-type': 'text/html' });
        res.end('<h1>down</h1>');
      },
      async (server) => {
        const result = await track(createHttpSdSource('label', { url: `${server.url}/sd`, clusterLabel: 'ensemble' })).discover();
        assert.deepEqual(result.records, [{ cluster_id: 'zk-main', display_name: null, nodes: [{ agent_address: 'http://z:2181' }] }]);
        await rejectsWith(track(createHttpSdSource('object', { url: `${server.url}/object` })), /expected a list of target groups, got an object/);
        await rejectsWith(track(createHttpSdSource('down', { url: `${server.url}/down` })), /HTTP 503 Service Unavailable \(text\/html body\)/);
      },
    );
  });
});

describe('sources from settings documents', () => {
  function setting(raw: unknown): DiscoverySetting {
    const parsed = parseDiscoverySetting(raw, 'test');
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.problem);
    return parsed.setting;
  }

  test('each backend is built from its document and reads the sim', async () => {
    const documents = [
      { name: 'f', backend: 'file', options: { path: join(dir, 'sim-discovery.json') } },
      { name: 'h', backend: 'http', options: { url: `${sim.url}/discovery`, timeout: 2 } },
      { name: 's', backend: 'http_sd', options: { url: `${sim.url}/http_sd` } },
    ];
    for (const document of documents) {
      const source = track(createDiscoverySource(setting(document)));
      assert.equal(source.backend, document.backend);
      assert.deepEqual(await source.discover(), { records: simRecords(), errors: [] }, document.backend);
    }
  });

  test('the cache keeps one source per discovery while its options stay the same (last good content survives)', async () => {
    const cache = createDiscoverySourceCache();
    try {
      const path = write('cached.json', [{ cluster_id: 'rs0', nodes: [] }]);
      const first = cache.sourceFor(setting({ name: 'c', backend: 'file', interval: 30, options: { path } }));
      await first.discover();
      write('cached.json', '[broken');
      const again = cache.sourceFor(setting({ name: 'c', backend: 'file', interval: 90, enabled: true, options: { path } }));
      assert.equal(again, first);
      assert.deepEqual(
        (await again.discover()).records.map((r) => r.cluster_id),
        ['rs0'],
      );
      const changed = cache.sourceFor(setting({ name: 'c', backend: 'file', options: { path: join(dir, 'sim-discovery.json') } }));
      assert.notEqual(changed, first);
      cache.retain([]);
      assert.notEqual(cache.sourceFor(setting({ name: 'c', backend: 'file', options: { path: join(dir, 'sim-discovery.json') } })), changed);
    } finally {
      cache.close();
    }
  });
});
