// Bad input through the doors that need no service: the CLI's arguments (the real command
// dispatcher, in this process; one spawned run for what only the process's output escapes),
// discovery settings files (`discovery apply --dry-run`) and discovery records (the file
// source). Every row of docs/reference/bad-input.md ("Bad input at every door") for these doors is tried
// here and must answer what the table says; test/e2e/doors.test.ts does the workflow's doors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createFileSource } from '../../src/adapters/discovery/index.js';
import { decodeUtf8, NotUtf8Error } from '../../src/domain/utf8.js';
import { controlCharacterProblem } from '../../src/domain/text.js';
import { runCli } from '../../src/starter.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { assertDoorAnswer, doorRows } from '../helpers/readme-doors.js';

const big = 'a'.repeat(10 * 1024);
const control = 'a\u001b[31mred\u0007\nx';
const tried = new Set<string>();
let dir: string;
let startDir: string;

before(() => {
  startDir = process.cwd();
  // Two levels below the root: `../../etc/passwd` names /etc/passwd, wherever the clone is.
  dir = mkdtempSync(join(tmpdir(), 'fleetview-doors-'));
  process.chdir(dir);
}, setupBound);

after(
  () =>
    cleanUp({
      'returning to the start folder': () => process.chdir(startDir),
      'deleting the temp folder': () => rmSync(dir, { recursive: true, force: true }),
    }),
  cleanupBound,
);

async function cli(args: string[]): Promise<{ text: string; exit: number; accepted: boolean }> {
  let text = '';
  const exit = await runCli(args, { out: (line) => (text += `${line}\n`), note: (line) => (text += `${line}\n`) });
  return { text, exit, accepted: exit === 0 };
}

function check(door: string, value: string, actual: { text: string; exit?: number | null; accepted: boolean }): void {
  tried.add(`${door} | ${value}`);
  assertDoorAnswer(door, value, actual);
}

describe('CLI arguments', () => {
  const values: Array<[string, string]> = [
    ['`{"$gt":""}`', '{"$gt":""}'],
    ['`../../etc/passwd`', '../../etc/passwd'],
    ['`10 KB`', big],
    ['`control`', control],
    ['`""`', ''],
    // Node decodes argument bytes that are not UTF-8 as U+FFFD before any code sees them.
    ['`non-UTF-8`', 'ab\ufffd\ufffd'],
  ];
  const doors: Array<[string, (value: string) => string[][]]> = [
    ['`fleetview view CLUSTER`, `refresh CLUSTER`', (v) => [['view', v], ['refresh', v], ['refresh', v, '--wait']]],
    ['`fleetview discovery delete NAME`, `run NAME`, `release NAME`', (v) => [['discovery', 'delete', v], ['discovery', 'run', v], ['discovery', 'run', 'ok-name', v], ['discovery', 'release', v]]],
    ['`fleetview events --cluster C`', (v) => [['events', '--cluster', v]]],
    ['`fleetview events --last N`', (v) => [['events', '--last', v]]],
    ['`fleetview discovery apply -f FILE`', (v) => [['discovery', 'apply', '-f', v], ['discovery', 'apply', '-f', v, '--dry-run']]],
  ];
  for (const [door, commands] of doors) {
    it(`${door}: each bad value is a usage error naming it, before any service is asked`, async () => {
      for (const [label, value] of values) {
        const rows = doorRows(door).filter((row) => row.value === label);
        if (rows.length === 0) continue;
        for (const args of commands(value)) check(door, label, await cli(args));
      }
    });
  }

  it('the cluster controls: every bad id, duration, time, reason and actor is refused before anything is sent', async () => {
    const ids = '`fleetview cluster set CLUSTER`, `unset`, `pause`, `resume`, `maintenance`, `show`';
    for (const [label, value] of values) {
      if (doorRows(ids).some((row) => row.value === label)) {
        for (const args of [
          ['cluster', 'set', value, '--interval', '60s'],
          ['cluster', 'unset', value, '--interval'],
          ['cluster', 'pause', value, '--reason', 'r'],
          ['cluster', 'resume', value],
          ['cluster', 'maintenance', value, '--for', '1h', '--reason', 'r'],
          ['cluster', 'show', value],
        ]) {
          check(ids, label, await cli(args));
        }
      }
    }
    const interval = '`fleetview cluster set CLUSTER --interval D` (and `--node-grace`, `--cluster-grace`)';
    const intervals: Array<[string, string]> = [['`-5`', '-5'], ['`0`', '0'], ['`2d`', '2d'], ['`1e12`', '1e12'], ['`10 KB`', big], ['`control`', control], ['`""`', '']];
    for (const [label, value] of intervals) {
      check(interval, label, await cli(['cluster', 'set', 'rs0', `--interval=${value}`]));
      // Graces take 0 (retire at once) and up to 30 days: the rest is refused for them too.
      if (value !== '0' && value !== '2d') for (const flag of ['--node-grace', '--cluster-grace']) assert.equal((await cli(['cluster', 'set', 'rs0', `${flag}=${value}`])).exit, 2, `${flag}=${value.slice(0, 20)}`);
    }
    assert.match((await cli(['cluster', 'set', 'rs0', '--interval', '-5'])).text, /argument is ambiguous/);
    check('`fleetview cluster set CLUSTER --agent-timeout D`', '`50`', await cli(['cluster', 'set', 'rs0', '--agent-timeout', '50']));
    const reason = '`fleetview cluster pause CLUSTER --reason TEXT`, `maintenance`';
    for (const [label, value] of [['`control`', control], ['`10 KB`', big], ['`""`', '']] as const) {
      check(reason, label, await cli(['cluster', 'pause', 'rs0', '--reason', value]));
      check(reason, label, await cli(['cluster', 'maintenance', 'rs0', '--for', '1h', '--reason', value]));
    }
    const until = '`fleetview cluster pause CLUSTER --until TIME`, `maintenance`';
    for (const [label, value] of [['`2020-01-01T00:00:00Z` (past)', '2020-01-01T00:00:00Z'], ['`{"$gt":""}`', '{"$gt":""}'], ['`10 KB`', big], ['`control`', control], ['`""`', '']] as const) {
      check(until, label, await cli(['cluster', 'pause', 'rs0', '--reason', 'r', '--until', value]));
      check(until, label, await cli(['cluster', 'maintenance', 'rs0', '--reason', 'r', '--until', value]));
    }
    check('`fleetview cluster pause CLUSTER --for D`, `maintenance`', '`400d`', await cli(['cluster', 'pause', 'rs0', '--reason', 'r', '--for', '400d']));
    check('`fleetview cluster pause CLUSTER --for D`, `maintenance`', '`400d`', await cli(['cluster', 'maintenance', 'rs0', '--reason', 'r', '--for', '400d']));
    const actor = '`fleetview cluster ... --actor NAME`, `settings apply --actor`, `refresh --actor`';
    for (const [label, value] of [['`control`', control], ['`10 KB`', big], ['`""`', '']] as const) {
      for (const args of [['cluster', 'set', 'rs0', '--interval', '60s'], ['cluster', 'unset', 'rs0', '--interval'], ['cluster', 'resume', 'rs0'], ['cluster', 'maintenance', 'rs0', '--end'], ['settings', 'apply'], ['refresh', 'rs0']]) {
        check(actor, label, await cli([...args, '--actor', value]));
      }
    }
  });

  it('the discovery controls: a bad name, reason, end or actor is refused before any service is asked', async () => {
    const names = '`fleetview discovery pause NAME`, `resume NAME`';
    for (const [label, value] of values) {
      if (!doorRows(names).some((row) => row.value === label)) continue;
      check(names, label, await cli(['discovery', 'pause', value, '--reason', 'r']));
      check(names, label, await cli(['discovery', 'resume', value]));
    }
    for (const [label, value] of [['`control`', control], ['`10 KB`', big], ['`""`', '']] as const) {
      check('`fleetview discovery pause NAME --reason TEXT`', label, await cli(['discovery', 'pause', 'inventory', '--reason', value]));
    }
    const until = '`fleetview discovery pause NAME --until TIME`';
    check(until, '`2020-01-01T00:00:00Z` (past)', await cli(['discovery', 'pause', 'inventory', '--reason', 'r', '--until', '2020-01-01T00:00:00Z']));
    check(until, '`control`', await cli(['discovery', 'pause', 'inventory', '--reason', 'r', '--until', control]));
    check('`fleetview discovery pause NAME --for D`', '`400d`', await cli(['discovery', 'pause', 'inventory', '--reason', 'r', '--for', '400d']));
    check('`fleetview discovery pause NAME --for D`', '`-5m`', await cli(['discovery', 'pause', 'inventory', '--reason', 'r', '--for=-5m']));
    assert.match((await cli(['discovery', 'pause', 'inventory', '--reason', 'r', '--for', '-5m'])).text, /argument is ambiguous/);
    const actor = '`fleetview discovery apply`, `delete`, `release`, `pause`, `resume` `--actor NAME`';
    for (const [label, value] of [['`control`', control], ['`10 KB`', big], ['`""`', '']] as const) {
      for (const args of [['discovery', 'apply', '-f', 'x.yaml'], ['discovery', 'delete', 'inventory'], ['discovery', 'release', 'inventory'], ['discovery', 'pause', 'inventory', '--reason', 'r'], ['discovery', 'resume', 'inventory']]) {
        check(actor, label, await cli([...args, '--actor', value]));
      }
    }
  });

  it('a --timeout past what a timer can wait is refused', async () => {
    check('`fleetview refresh CLUSTER --wait --timeout S`', '`1e12`', await cli(['refresh', 'rs0', '--wait', '--timeout', '1e12']));
    for (const command of [['view', 'rs0'], ['discovery', 'run']]) assert.equal((await cli([...command, '--timeout', '86401'])).exit, 2);
  });

  it('control characters in an unknown option reach the terminal escaped', () => {
    const bin = fileURLToPath(new URL('../../bin/fleetview.mjs', import.meta.url));
    const result = spawnSync(process.execPath, [bin, 'clusters', '--a\u001b[2Jb'], { encoding: 'utf8' });
    assert.ok(!result.stderr.includes('\u001b'), 'a raw ESC reached the terminal');
    check('`fleetview <command> --OPTION`', '`control`', { text: result.stderr, exit: result.status, accepted: result.status === 0 });
  });
});

describe('discovery settings files (discovery apply --dry-run)', () => {
  const door = (field: string) => `settings file: \`${field}\``;
  const file = (source: string) => `name: doors\nbackend: file\noptions: {path: ${source}}\n`;
  const http = (options: string) => `name: doors\nbackend: http\noptions: {url: "http://inventory.example/d", ${options}}\n`;
  const rows: Array<[string, string, string | Buffer]> = [
    [door('name'), '`{"$gt":""}`', `name: {"$gt": ""}\nbackend: file\noptions: {path: x.yaml}\n`],
    [door('name'), '`../../etc/passwd`', `name: ../../etc/passwd\nbackend: file\noptions: {path: x.yaml}\n`],
    [door('name'), '`10 KB`', `name: ${big}\nbackend: file\noptions: {path: x.yaml}\n`],
    [door('name'), '`control`', `name: ${JSON.stringify(control)}\nbackend: file\noptions: {path: x.yaml}\n`],
    [door('name'), '`""`', `name: ""\nbackend: file\noptions: {path: x.yaml}\n`],
    [door('options.path'), '`../../etc/passwd`', file('../../etc/passwd')],
    [door('options.path'), '`10 KB`', file(big)],
    [door('options.path'), '`control`', file('"/tmp/a\\e[2J.yaml"')],
    [door('options.path'), '`""`', file('""')],
    [door('options.url'), '`{"$gt":""}`', `name: doors\nbackend: http\noptions: {url: {"$gt": ""}}\n`],
    [door('options.url'), '`10 KB`', `name: doors\nbackend: http\noptions: {url: "http://h/${big}"}\n`],
    [door('options.url'), '`control`', `name: doors\nbackend: http\noptions: {url: "http://h/\\e[2J\\r\\nX: y"}\n`],
    [door('options.headers'), '`{"$gt":""}`', http('headers: {"$gt": "x"}')],
    [door('options.headers'), '`10 KB`', http(`headers: {X-Big: "${big}"}`)],
    [door('options.headers'), '`control`', http('headers: {X-Token: "a\\r\\nInjected: 1"}')],
    [door('options.body'), '`{"$gt":""}`', http('body: {team: {"$gt": ""}}')],
    ['settings file: `options.cluster_label` (http_sd)', '`control`', `name: doors\nbackend: http_sd\noptions: {url: "http://h/", cluster_label: "a\\e[2J"}\n`],
    ['settings file: `options.cluster_label` (http_sd)', '`10 KB`', `name: doors\nbackend: http_sd\noptions: {url: "http://h/", cluster_label: "${big}"}\n`],
    ['settings file: the whole document', '`""`', '""\n'],
    ['settings file: its bytes', '`non-UTF-8`', Buffer.from('# r\xe9sum\xe9 of the fleet\nname: doors\nbackend: file\noptions: {path: x.yaml}\n', 'latin1')],
    ['settings file: its bytes', 'UTF-16', Buffer.from(`\ufeff${file('x.yaml')}`, 'utf16le')],
  ];
  for (const [index, [door, value, content]] of rows.entries()) {
    it(`${door} ${value}`, async () => {
      const path = join(dir, `settings-${index}.yaml`);
      writeFileSync(path, content);
      const answer = await cli(['discovery', 'apply', '-f', path, '--dry-run']);
      check(door, value, answer);
      if (answer.exit === 2) assert.match(answer.text, /nothing was applied/);
      else assert.match(answer.text, /discovery doors \(file, every 60 s\): valid/);
    });
  }

  it('names the line and column of the first byte that is not UTF-8', () => {
    const bytes = Buffer.concat([Buffer.from('name: ok\nbackend: file\n# caf\u00e9 \u{1F600} '), Buffer.from([0xc3, 0x28]), Buffer.from(' more\n')]);
    assert.throws(() => decodeUtf8(bytes), (error: unknown) => {
      assert.ok(error instanceof NotUtf8Error);
      assert.deepEqual([error.line, error.column], [3, 10]);
      assert.match(error.message, /^not UTF-8: byte 0xC3 at line 3, column 10 \(byte offset 36\)/);
      return true;
    });
    for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
      assert.throws(() => decodeUtf8(Buffer.from([0x41, ...bad])), /byte 0x[0-9A-F]{2} at line 1, column 2 \(byte offset 1\)/, `bytes ${bad.join(',')}`);
    }
    assert.equal(decodeUtf8(Buffer.from('\ufeffname: caf\u00e9')), 'name: caf\u00e9');
  });
});

describe('discovery records (the file source)', () => {
  const url = 'http://127.0.0.1:7070/c/x/n/n1';
  const door = (field: string) => `discovery record: \`${field}\``;
  const rows: Array<[string, string, unknown]> = [
    [door('cluster_id'), '`{"$gt":""}`', { cluster_id: { $gt: '' }, nodes: [url] }],
    [door('cluster_id'), '`../../etc/passwd`', { cluster_id: '../../etc/passwd', nodes: [url] }],
    [door('cluster_id'), '`10 KB`', { cluster_id: big, nodes: [url] }],
    [door('cluster_id'), '`control`', { cluster_id: 'a\u001b[31m\u0007\n', nodes: [url] }],
    [door('cluster_id'), '`""`', { cluster_id: '', nodes: [url] }],
    [door('display_name'), '`{"$gt":""}`', { cluster_id: 'dn-gt', display_name: { $gt: '' }, nodes: [url] }],
    [door('display_name'), '`10 KB`', { cluster_id: 'dn-big', display_name: big, nodes: [url] }],
    [door('display_name'), '`control`', { cluster_id: 'dn-control', display_name: 'Orders\u001b[2J\r\nfake line', nodes: [url] }],
    [door('display_name'), '`""`', { cluster_id: 'dn-empty', display_name: '', nodes: [url] }],
    [door('nodes[i]'), '`../../etc/passwd`', { cluster_id: 'n-passwd', nodes: ['../../etc/passwd'] }],
    [door('nodes[i]'), '`{"$gt":""}`', { cluster_id: 'n-gt', nodes: [{ $gt: '' }] }],
    [door('nodes[i]'), '`10 KB`', { cluster_id: 'n-big', nodes: [`http://h/${big}`] }],
    [door('nodes[i]'), '`control`', { cluster_id: 'n-control', nodes: ['http://h/\u001b[2J'] }],
    [door('nodes[i]'), '`""`', { cluster_id: 'n-empty', nodes: [''] }],
    [door('node_id'), '`{"$gt":""}`', { cluster_id: 'id-gt', nodes: [{ agent_address: url, node_id: { $gt: '' } }] }],
    [door('node_id'), '`../../etc/passwd`', { cluster_id: 'id-passwd', nodes: [{ agent_address: url, node_id: '../../etc/passwd' }] }],
    ['discovery record: `node_class`, `node_group`', '`control`', { cluster_id: 'class-control', nodes: [{ agent_address: url, node_class: 'm\u001b' }] }],
    ['discovery record: `node_class`, `node_group`', '`""`', { cluster_id: 'group-empty', nodes: [{ agent_address: url, node_group: '' }] }],
    [door('settings'), '`{"$gt":""}`', { cluster_id: 'settings-gt', nodes: [url], settings: { $gt: '' } }],
    [door('settings'), '`10 KB`', { cluster_id: 'settings-big', nodes: [url], settings: big }],
    ['discovery record: other keys', '`{"$gt":""}`', { cluster_id: 'other-keys', nodes: [{ agent_address: url, $gt: '' }], $gt: '' }],
  ];

  it('skips each bad record with a problem naming it; the good ones go on; no outside key is kept', async () => {
    const path = join(dir, 'records.json');
    writeFileSync(path, JSON.stringify([{ cluster_id: 'good', nodes: [url] }, ...rows.map(([, , record]) => record)]));
    const result = await createFileSource('doors', { path }).discover();
    for (const [index, [door, value, record]] of rows.entries()) {
      const location = `records[${index + 1}]`;
      const problem = result.errors.find((error) => error.location.endsWith(location));
      const accepted = result.records.find((candidate) => candidate.cluster_id === (record as { cluster_id: unknown }).cluster_id);
      check(door, value, { text: problem?.message ?? `accepted ${JSON.stringify(accepted)}`, accepted: accepted !== undefined });
      assert.ok(!problem || !accepted, `${location} was both skipped and accepted`);
      if (problem?.cluster_id !== undefined) assert.equal(controlCharacterProblem(problem.cluster_id), null, 'a problem names an unprintable cluster id');
    }
    assert.deepEqual(result.records.map((record) => record.cluster_id), ['good', 'dn-empty', 'other-keys']);
    assert.deepEqual(result.records.find((record) => record.cluster_id === 'other-keys'), { cluster_id: 'other-keys', display_name: null, nodes: [{ agent_address: url }] });
  });

  it('a records file that is not UTF-8 fails naming the byte, and keeps its last good content', async () => {
    const path = join(dir, 'latin1.json');
    writeFileSync(path, JSON.stringify([{ cluster_id: 'cafe', nodes: [url] }]));
    const source = createFileSource('latin', { path });
    await source.discover();
    writeFileSync(path, Buffer.from('[{"cluster_id": "caf\xe9", "nodes": ["http://h/"]}]', 'latin1'));
    const result = await source.discover();
    assert.deepEqual(result.records.map((record) => record.cluster_id), ['cafe']);
    check('discovery record file: its bytes', '`non-UTF-8`', { text: result.errors[0]?.message ?? '', accepted: false });
    assert.match(result.errors[0]?.message ?? '', /keeping its last good content/);
  });
});

it('every row of docs/reference/bad-input.md for these doors was tried', () => {
  const rows = ['`fleetview', 'settings file', 'discovery record'].flatMap(doorRows);
  const untried = rows.filter((row) => !tried.has(`${row.door} | ${row.value}`)).map((row) => `| ${row.door} | ${row.value} |`);
  assert.deepEqual(untried, []);
});
