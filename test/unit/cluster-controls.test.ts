import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ControlRequestError,
  changedSettings,
  effectiveSettings,
  msUntilWindowEnds,
  noControls,
  parseActorRequest,
  parseDefaultsRequest,
  parseMaintenanceRequest,
  parsePauseRequest,
  parseSettingsRequest,
  validSettingValues,
  windowActive,
} from '../../src/domain/cluster-controls.js';

const now = Date.parse('2026-12-02T12:00:00.000Z');
const actor = { user: 'alice', identity: '42@host' };

function problems(call: () => unknown): string[] {
  try {
    call();
  } catch (err) {
    assert.ok(err instanceof ControlRequestError, `a ControlRequestError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected the request to be refused');
}

describe('cluster settings layers', () => {
  it('take the operator over the discovery over the default, and say where each came from', () => {
    const settings = effectiveSettings({
      default: { refresh_interval_s: 15, node_retire_grace_s: 60 },
      discovery: { refresh_interval_s: 60, agent_timeout_ms: 5000 },
      operator: { agent_timeout_ms: 2000 },
    });
    assert.deepEqual(settings, {
      refresh_interval_s: { value: 60, source: 'discovery' },
      agent_timeout_ms: { value: 2000, source: 'operator' },
      node_retire_grace_s: { value: 60, source: 'default' },
      cluster_retire_grace_s: { value: null, source: null },
    });
  });

  it('name every setting whose value or source moved', () => {
    const before = effectiveSettings({ default: { refresh_interval_s: 15 }, discovery: {}, operator: {} });
    const same = effectiveSettings({ default: { refresh_interval_s: 15 }, discovery: {}, operator: { refresh_interval_s: 15 } });
    assert.deepEqual(changedSettings(before, same), [{ setting: 'refresh_interval_s', before: { value: 15, source: 'default' }, after: { value: 15, source: 'operator' } }]);
    assert.deepEqual(changedSettings(before, before), []);
  });

  it('keep only valid values from stored documents', () => {
    assert.deepEqual(validSettingValues({ refresh_interval_s: 30, agent_timeout_ms: -1, node_retire_grace_s: 'x', other: 1 }), { refresh_interval_s: 30 });
    assert.deepEqual(validSettingValues(null), {});
  });
});

describe('operator requests', () => {
  it('settings: set and unset, validated naming the field and value', () => {
    assert.deepEqual(parseSettingsRequest({ set: { refresh_interval_s: 60 }, unset: ['agent_timeout_ms'], actor }), {
      set: { refresh_interval_s: 60 },
      unset: ['agent_timeout_ms'],
      actor,
    });
    assert.deepEqual(problems(() => parseSettingsRequest({ set: { refresh_interval_s: -5 } })), ['set.refresh_interval_s must be an integer from 1 to 86400, got -5']);
    assert.deepEqual(problems(() => parseSettingsRequest({ set: { refresh_interval_s: 1e9 } })), ['set.refresh_interval_s must be an integer from 1 to 86400, got 1000000000']);
    assert.match(problems(() => parseSettingsRequest({ set: { interval: 5 } }))[0]!, /set\.interval is not a setting \(known: refresh_interval_s/);
    assert.match(problems(() => parseSettingsRequest({ unset: ['nope'] }))[0]!, /unset: "nope" is not a setting/);
    assert.deepEqual(problems(() => parseSettingsRequest({ set: { refresh_interval_s: 5 }, unset: ['refresh_interval_s'] })), ['refresh_interval_s is both set and unset']);
    assert.deepEqual(problems(() => parseSettingsRequest({})), ['nothing to change: give set or unset']);
    assert.match(problems(() => parseSettingsRequest('60s'))[0]!, /must be an object \{set, unset, actor\}, got a string/);
  });

  it('defaults: the default layer, unknown settings refused', () => {
    assert.deepEqual(parseDefaultsRequest({ defaults: { refresh_interval_s: 30, agent_timeout_ms: null }, actor }), { defaults: { refresh_interval_s: 30 }, actor });
    assert.match(problems(() => parseDefaultsRequest({ defaults: { refresh_interval_s: 0 } }))[0]!, /defaults\.refresh_interval_s must be an integer from 1/);
  });

  it('pause: until, for_s or neither; a reason of one printable line; an end in the future', () => {
    assert.deepEqual(parsePauseRequest({ reason: 'disk', for_s: 7200, actor }, now), { until: '2026-12-02T14:00:00.000Z', reason: 'disk', actor });
    assert.deepEqual(parsePauseRequest({ reason: 'disk', until: '2026-12-02T18:00:00Z' }, now), {
      until: '2026-12-02T18:00:00.000Z',
      reason: 'disk',
      actor: { user: 'unknown', identity: null },
    });
    assert.equal(parsePauseRequest({ reason: 'open-ended' }, now).until, null);
    assert.deepEqual(problems(() => parsePauseRequest({ reason: 'x', until: '2026-12-01T00:00:00Z' }, now)), [
      'until 2026-12-01T00:00:00Z is not in the future (now: 2026-12-02T12:00:00.000Z)',
    ]);
    assert.match(problems(() => parsePauseRequest({ reason: 'x', until: 'tomorrow' }, now))[0]!, /until must be an ISO 8601 time .* got "tomorrow"/);
    assert.match(problems(() => parsePauseRequest({ reason: 'x', for_s: -1 }, now))[0]!, /for_s must be an integer number of seconds from 1/);
    assert.deepEqual(problems(() => parsePauseRequest({ reason: 'x', for_s: 5, until: '2026-12-03T00:00:00Z' }, now)), ['give until or for_s, not both']);
    assert.match(problems(() => parsePauseRequest({}, now))[0]!, /reason is required/);
    assert.match(problems(() => parsePauseRequest({ reason: 'a\u0007bell' }, now))[0]!, /reason must be a non-empty string of at most 200 printable characters, got "a\\u0007bell"/);
    assert.match(problems(() => parsePauseRequest({ reason: 'x', actor: { user: '' } }, now))[0]!, /actor\.user must be a non-empty string/);
  });

  it('maintenance: needs its end; {end: true} ends the current window and takes nothing else', () => {
    assert.deepEqual(parseMaintenanceRequest({ reason: 'upgrade', for_s: 60, actor }, now), { end: false, until: '2026-12-02T12:01:00.000Z', reason: 'upgrade', actor });
    assert.deepEqual(parseMaintenanceRequest({ end: true, actor }, now), { end: true, actor });
    assert.deepEqual(problems(() => parseMaintenanceRequest({ reason: 'upgrade' }, now)), ['a maintenance window needs its end: until (an ISO time) or for_s (seconds)']);
    assert.deepEqual(problems(() => parseMaintenanceRequest({ end: true, reason: 'x' }, now)), ['end: true takes no reason']);
  });

  it('actor requests: none, or {actor}', () => {
    assert.deepEqual(parseActorRequest(undefined), { actor: { user: 'unknown', identity: null } });
    assert.deepEqual(parseActorRequest({ actor }), { actor });
    assert.match(problems(() => parseActorRequest({ actor, extra: 1 }))[0]!, /extra is not a field/);
  });
});

describe('windows', () => {
  const window = { since: '2026-12-02T11:00:00.000Z', until: '2026-12-02T13:00:00.000Z', reason: 'r', actor };
  it('hold until their end; an open pause holds until resumed', () => {
    assert.equal(windowActive(window, now), true);
    assert.equal(windowActive(window, Date.parse('2026-12-02T13:00:00.000Z')), false);
    assert.equal(windowActive({ ...window, until: null }, now + 1e12), true);
    assert.equal(windowActive(null, now), false);
  });

  it('wake the workflow at the first end', () => {
    assert.equal(msUntilWindowEnds({ ...noControls, pause: window, maintenance: { ...window, until: '2026-12-02T12:30:00.000Z' } }, now), 30 * 60_000);
    assert.equal(msUntilWindowEnds({ ...noControls, pause: { ...window, until: null } }, now), null);
    assert.equal(msUntilWindowEnds(noControls, now), null);
  });
});
