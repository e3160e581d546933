// The operator's cluster controls on the command line: durations and times as operators type
// them, the setting flags' units and bounds, and every refusal before anything is sent (the
// commands run in this process; no service is reachable from a unit test, and none is asked).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { settingsTable, windowCell, windowText } from '../../src/cli/controls-format.js';
import { formatSeconds, formatSetting, parseDurationMs, parseDurationS, parseSettingFlag, parseUntil, settingFlags } from '../../src/cli/durations.js';
import { effectiveSettings, parsePauseRequest, parseSettingsRequest } from '../../src/domain/cluster-controls.js';
import { runCli } from '../../src/starter.js';

const flag = (name: string) => settingFlags.find((candidate) => candidate.flag === name)!;

async function cli(args: string[]): Promise<{ code: number; out: string; note: string }> {
  let out = '';
  let note = '';
  // Services unreachable on purpose: a command that got past its checks would fail with exit 4.
  const previous = process.env.FLEETVIEW_TEMPORAL_ADDRESS;
  process.env.FLEETVIEW_TEMPORAL_ADDRESS = '127.0.0.1:1';
  try {
    const code = await runCli(args, { out: (text) => (out += `${text}\n`), note: (text) => (note += `${text}\n`) });
    return { code, out, note };
  } finally {
    if (previous === undefined) delete process.env.FLEETVIEW_TEMPORAL_ADDRESS;
    else process.env.FLEETVIEW_TEMPORAL_ADDRESS = previous;
  }
}

describe('durations', () => {
  it('take units, compounds and decimals; a bare number is the caller’s unit', () => {
    assert.equal(parseDurationMs('--x', '250ms', 's'), 250);
    assert.equal(parseDurationMs('--x', '90s', 's'), 90_000);
    assert.equal(parseDurationMs('--x', '5m', 's'), 300_000);
    assert.equal(parseDurationMs('--x', '1h30m', 's'), 5_400_000);
    assert.equal(parseDurationMs('--x', '1.5h', 's'), 5_400_000);
    assert.equal(parseDurationMs('--x', '2d', 's'), 172_800_000);
    assert.equal(parseDurationMs('--x', ' 60 ', 's'), 60_000, 'bare: seconds');
    assert.equal(parseDurationMs('--x', '60', 'ms'), 60, 'bare: milliseconds');
    assert.equal(parseDurationS('--for', '2h'), 7200);
  });

  it('refuse what is not one, naming the flag and the value', () => {
    for (const bad of ['', 'abc', '-5', '5 m', '5x', 'm5', '1e3', '1h-30m', 'NaN', 'Infinity', '0x10']) {
      assert.throws(
        () => parseDurationMs('--interval', bad, 's'),
        (err: Error) => err.message.startsWith('--interval must be a duration such as 90s') && err.message.endsWith(`, got ${JSON.stringify(bad)}`),
        bad,
      );
    }
    assert.throws(() => parseDurationMs('--for', '500d', 's'), /--for is longer than a year, got "500d"/);
    assert.throws(() => parseDurationMs('--for', '9'.repeat(400), 's'), /--for is longer than a year, got "9{70,}\.\.\."/, 'a long value is cut');
    assert.throws(() => parseDurationMs('--x', '0.0001s', 's'), /not a whole number of milliseconds/);
    assert.throws(() => parseDurationS('--for', '1500ms'), /--for must be a whole number of seconds, got "1500ms"/);
  });

  it('print back as operators write them', () => {
    assert.deepEqual([0, 45, 90, 3600, 5400, 86_400, 90_061].map(formatSeconds), ['0s', '45s', '1m30s', '1h', '1h30m', '1d', '1d1h1m1s']);
    assert.equal(formatSetting('agent_timeout_ms', 5000), '5s');
    assert.equal(formatSetting('agent_timeout_ms', 250), '250ms');
    assert.equal(formatSetting('refresh_interval_s', 60), '1m');
  });
});

describe('setting flags', () => {
  it('convert to the settings’ units: seconds, and milliseconds for the agent timeout', () => {
    assert.equal(parseSettingFlag(flag('interval'), '60s'), 60);
    assert.equal(parseSettingFlag(flag('interval'), '2m'), 120);
    assert.equal(parseSettingFlag(flag('interval'), '30'), 30);
    assert.equal(parseSettingFlag(flag('agent-timeout'), '5s'), 5000);
    assert.equal(parseSettingFlag(flag('agent-timeout'), '750'), 750);
    assert.equal(parseSettingFlag(flag('node-grace'), '0'), 0);
    assert.equal(parseSettingFlag(flag('cluster-grace'), '1h'), 3600);
    // What the flags give, the workflow's own validator takes.
    const set = Object.fromEntries(settingFlags.map((f) => [f.setting, parseSettingFlag(f, '10m')]));
    assert.deepEqual(parseSettingsRequest({ set }).set, set);
  });

  it('refuse values out of the settings’ bounds, in the flag’s terms', () => {
    assert.throws(() => parseSettingFlag(flag('interval'), '0s'), /^InputProblem: --interval must be from 1s to 1d, got "0s"$/);
    assert.throws(() => parseSettingFlag(flag('interval'), '2d'), /--interval must be from 1s to 1d, got "2d"/);
    assert.throws(() => parseSettingFlag(flag('interval'), '1500ms'), /--interval must be a whole number of seconds/);
    assert.throws(() => parseSettingFlag(flag('agent-timeout'), '50'), /--agent-timeout must be from 100ms to 10m, got "50"/);
    assert.throws(() => parseSettingFlag(flag('node-grace'), '31d'), /--node-grace must be from 0s to 30d/);
  });
});

describe('--until', () => {
  const now = Date.parse('2026-12-02T10:00:00Z');

  it('takes ISO 8601 times with an offset, given back in UTC', () => {
    assert.equal(parseUntil('2026-12-02T18:00:00Z', now), '2026-12-02T18:00:00.000Z');
    assert.equal(parseUntil('2026-12-02T19:30+01:00', now), '2026-12-02T18:30:00.000Z');
    assert.equal(parseUntil('2026-12-02T19:30:15.5+0100', now), '2026-12-02T18:30:15.500Z');
  });

  it('reads a time without an offset, and HH:MM, as local time', () => {
    const local = new Date(2026, 11, 2, 23, 45).toISOString();
    assert.equal(parseUntil('2026-12-02T23:45', now), local);
    // HH:MM is today: pick an hour after now in local time.
    const base = new Date(2026, 11, 2, 9, 0).getTime();
    assert.equal(parseUntil('21:05', base), new Date(2026, 11, 2, 21, 5).toISOString());
    assert.equal(parseUntil('9:30', base), new Date(2026, 11, 2, 9, 30).toISOString());
  });

  it('refuses an HH:MM that has passed today rather than guess tomorrow', () => {
    const base = new Date(2026, 11, 2, 20, 0).getTime();
    assert.throws(() => parseUntil('18:00', base), /^InputProblem: --until has passed today \(now 20:00 local\): give the date too, e\.g\. 2026-12-03T18:00, got "18:00"$/);
  });

  it('refuses an HH:MM the clock skips or repeats today (daylight saving)', () => {
    const previous = process.env.TZ;
    process.env.TZ = 'Europe/Berlin';
    try {
      // 2026-03-29: 02:00 jumps to 03:00; 2026-10-25: 02:00-03:00 happens twice.
      assert.throws(() => parseUntil('02:30', Date.parse('2026-03-28T23:00:00Z')), /--until names a local time the clock skips or repeats today/);
      assert.throws(() => parseUntil('02:30', Date.parse('2026-10-24T22:00:00Z')), /--until names a local time the clock skips or repeats today/);
      assert.equal(parseUntil('04:00', Date.parse('2026-10-24T22:00:00Z')), '2026-10-25T03:00:00.000Z');
    } finally {
      if (previous === undefined) delete process.env.TZ;
      else process.env.TZ = previous;
    }
  });

  it('refuses what is no time, naming the value', () => {
    for (const bad of ['tomorrow', '', '18', '25:00', '12:60', '2026-13-01T00:00Z', '2026-02-30T10:00Z', '2026-12-02', '2026-12-02 18:00', '{"$gt":""}']) {
      assert.throws(() => parseUntil(bad, now), /^InputProblem: --until (must be|is not a valid)/, bad);
    }
  });

  it('leaves the past and the far future to the domain, which names them', () => {
    const until = parseUntil('2026-12-01T00:00:00Z', now);
    assert.throws(() => parsePauseRequest({ until, reason: 'r' }, now), /until 2026-12-01T00:00:00.000Z is not in the future/);
  });
});

describe('the controls as printed', () => {
  it('a table of each setting, its source and every layer', () => {
    const layers = { default: { refresh_interval_s: 15, node_retire_grace_s: 30 }, discovery: { refresh_interval_s: 60 }, operator: { refresh_interval_s: 5 } };
    const text = settingsTable({ settings: effectiveSettings(layers), layers }, { refresh_interval_s: '<- set to 5s' });
    assert.match(text, /^SETTING\s+VALUE\s+FROM\s+OPERATOR\s+DISCOVERY\s+DEFAULT$/m);
    assert.match(text, /^interval\s+5s\s+operator\s+5s\s+1m\s+15s\s+<- set to 5s$/m);
    assert.match(text, /^agent-timeout\s+worker's default\s+-\s+-\s+-\s+-$/m);
    assert.match(text, /^node-grace\s+30s\s+default\s+-\s+-\s+30s$/m);
  });

  it('windows: until when, since when, who and why; ended ones as ended', () => {
    const now = Date.parse('2026-12-02T10:00:00Z');
    const window = { since: '2026-12-02T09:50:00.000Z', until: '2026-12-02T12:00:00.000Z', reason: 'disk swap', actor: { user: 'alice', identity: '42@host' } };
    assert.equal(windowText(window, now, 'until resumed'), 'until 2026-12-02T12:00:00.000Z (in 2h), since 10m ago, by alice (42@host): disk swap');
    assert.equal(windowText({ ...window, until: null }, now, 'until resumed'), 'until resumed, since 10m ago, by alice (42@host): disk swap');
    assert.equal(windowText({ ...window, until: '2026-12-02T09:59:00.000Z' }, now, 'x'), 'no (ended 60s ago: disk swap)');
    assert.equal(windowText(null, now, 'x'), 'no');
    assert.equal(windowCell(window, now), 'until in 2h');
    assert.equal(windowCell({ ...window, until: null }, now), 'yes');
    assert.equal(windowCell(null, now), '-');
  });
});

describe('cluster and settings commands on the command line', () => {
  it('explain themselves', async () => {
    for (const args of [['cluster', '--help'], ['settings', '--help'], ['settings', 'apply', '--help'], ...['show', 'list', 'set', 'unset', 'pause', 'resume', 'maintenance'].map((sub) => ['cluster', sub, '--help'])]) {
      const help = await cli(args);
      assert.equal(help.code, 0, args.join(' '));
      assert.match(help.out, /^usage: fleetview (cluster|settings)/, args.join(' '));
    }
    const top = await cli(['--help']);
    assert.match(top.out, /cluster pause\|resume CLUSTER/);
    assert.match(top.out, /settings apply/);
  });

  it('refuse bad input with exit 2, naming the flag and value, before any service is asked', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['cluster'], /fleetview cluster: missing subcommand/],
      [['cluster', 'frob'], /unknown subcommand "frob"/],
      [['settings', 'frob'], /fleetview settings: unknown subcommand "frob"/],
      [['cluster', 'set', 'rs0'], /nothing to set: give --interval/],
      [['cluster', 'set', 'rs0', '--interval', '0s'], /fleetview cluster set: --interval must be from 1s to 1d, got "0s"; nothing was sent/],
      [['cluster', 'set', 'rs0', '--interval=-5'], /--interval must be a duration .* got "-5"/],
      [['cluster', 'set', 'rs0', '--interval', '1e12'], /--interval must be a duration/],
      [['cluster', 'set', 'rs0', '--agent-timeout', '11m'], /--agent-timeout must be from 100ms to 10m, got "11m"/],
      [['cluster', 'set', 'rs0', '--interval', '60s', '--colour'], /Unknown option '--colour'/],
      [['cluster', 'set', 'no/slashes', '--interval', '60s'], /invalid cluster id "no\/slashes"/],
      [['cluster', 'unset', 'rs0'], /nothing to unset/],
      [['cluster', 'unset', 'rs0', '--interval', '60s'], /unexpected argument "60s"/],
      [['cluster', 'pause', 'rs0'], /fleetview cluster pause: --reason is required/],
      [['cluster', 'pause', 'rs0', '--reason', 'a\u001b[2Jb'], /--reason must be a non-empty string of at most 200 printable characters, got "a\\u001b\[2Jb" with a control character U\+001B/],
      [['cluster', 'pause', 'rs0', '--reason', 'x'.repeat(201)], /--reason must be .* got 201 characters/],
      [['cluster', 'pause', 'rs0', '--reason', 'r', '--until', '2020-01-01T00:00:00Z'], /--until 2020-01-01T00:00:00.000Z is not in the future/],
      [['cluster', 'pause', 'rs0', '--reason', 'r', '--until', 'tomorrow'], /--until must be an ISO 8601 time/],
      [['cluster', 'pause', 'rs0', '--reason', 'r', '--for', '400d'], /--for must be from 1s to 366d, got "400d"/],
      [['cluster', 'pause', 'rs0', '--reason', 'r', '--for', '1h', '--until', '2099-01-01T00:00Z'], /give --until or --for, not both/],
      [['cluster', 'pause', 'rs0', '--reason', 'r', '--actor', ''], /--actor must be a non-empty string/],
      [['cluster', 'resume', 'rs0', '--actor', 'a\u0007'], /--actor must be .* U\+0007/],
      [['cluster', 'resume', 'rs0', '--timeout', '0'], /--timeout must be a positive number of seconds/],
      [['cluster', 'maintenance', 'rs0', '--reason', 'r'], /a maintenance window needs its end: --for D or --until TIME/],
      [['cluster', 'maintenance', 'rs0', '--end', '--for', '1h'], /--end takes no --for/],
      [['settings', 'apply', '--actor', 'a\u001b'], /fleetview settings apply: --actor must be/],
      [['settings', 'apply', 'extra'], /unexpected argument "extra"/],
      [['refresh', 'rs0', '--actor', 'a'.repeat(201)], /fleetview refresh: --actor must be .* got 201 characters/],
    ];
    for (const [args, message] of cases) {
      const answer = await cli(args);
      assert.equal(answer.code, 2, `${JSON.stringify(args)}: exit ${answer.code}\n${answer.note}`);
      assert.match(answer.note, message, JSON.stringify(args));
      assert.doesNotMatch(answer.note, /cannot reach/, `${JSON.stringify(args)} asked a service`);
    }
  });

  it('go to Temporal once the input is good (here: unreachable, exit 4)', async () => {
    const answer = await cli(['cluster', 'pause', 'rs0', '--for', '2h', '--reason', 'disk swap', '--timeout', '5']);
    assert.equal(answer.code, 4, answer.note);
    assert.match(answer.note, /cannot reach Temporal at 127\.0\.0\.1:1/);
  });
});
