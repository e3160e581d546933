import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  auditEvent,
  changeDefaults,
  changeMaintenance,
  changeOperatorSettings,
  describeControls,
  expireWindows,
  markedForMaintenance,
  pauseCluster,
  resumeCluster,
  settingsInEffect,
  type AuditContext,
  type ControlState,
} from '../../src/domain/cluster-control-changes.js';
import { noControls } from '../../src/domain/cluster-controls.js';

const nowMs = Date.parse('2026-12-02T12:00:00.000Z');
const at: AuditContext = { cluster_id: 'rs0', generation: 7, now_ms: nowMs };
const actor = { user: 'alice', identity: '42@host' };
const state: ControlState = { controls: noControls, defaults: { refresh_interval_s: 15, node_retire_grace_s: 30 }, discovery: { refresh_interval_s: 30 } };
const inAnHour = new Date(nowMs + 3_600_000).toISOString();

describe('operator changes of a cluster', () => {
  it('numbers each audit event by the next revision, in the cluster’s id space', () => {
    const { controls, event } = auditEvent(noControls, 'CLUSTER_REFRESH_REQUESTED', { actor, wait: false }, at);
    assert.equal(controls.revision, 1);
    assert.equal(event.id, 'rs0/control/1/CLUSTER_REFRESH_REQUESTED');
    assert.deepEqual([event.cluster_id, event.generation, event.timestamp, event.category], ['rs0', 7, '2026-12-02T12:00:00.000Z', 'CLUSTER']);
    assert.equal(event.maintenance, undefined);
  });

  it('overrides a setting in the operator layer, and says nothing when the effect is the same', () => {
    const change = changeOperatorSettings(state, { set: { refresh_interval_s: 60 }, unset: [], actor }, at);
    assert.equal(settingsInEffect(change.state).refresh_interval_s.value, 60);
    assert.equal(change.events.length, 1);
    const payload = change.events[0]!.payload as { layer: string; changes: Array<{ setting: string; before: { value: number; source: string } }> };
    assert.equal(payload.layer, 'operator');
    assert.deepEqual(payload.changes.map((c) => [c.setting, c.before.value, c.before.source]), [['refresh_interval_s', 30, 'discovery']]);
    const again = changeOperatorSettings(change.state, { set: { refresh_interval_s: 60 }, unset: [], actor }, at);
    assert.deepEqual(again.events, []);
    const unset = changeOperatorSettings(change.state, { set: {}, unset: ['refresh_interval_s'], actor }, at);
    assert.equal(settingsInEffect(unset.state).refresh_interval_s.source, 'discovery');
    assert.equal(unset.events[0]!.id, 'rs0/control/2/CLUSTER_SETTINGS_CHANGED');
  });

  it('replaces defaults under the layers above them', () => {
    const change = changeDefaults(state, { defaults: { refresh_interval_s: 5, agent_timeout_ms: 900 }, actor }, at);
    assert.deepEqual(change.state.defaults, { refresh_interval_s: 5, node_retire_grace_s: 30, agent_timeout_ms: 900 });
    const changes = (change.events[0]!.payload as { changes: Array<{ setting: string }> }).changes.map((c) => c.setting);
    assert.deepEqual(changes, ['agent_timeout_ms'], 'the interval stays the discovery’s');
  });

  it('pauses and resumes, and a resume of a cluster not paused changes nothing', () => {
    const paused = pauseCluster(state, { until: null, reason: 'disk swap', actor }, at);
    assert.deepEqual(paused.state.controls.pause, { since: '2026-12-02T12:00:00.000Z', until: null, reason: 'disk swap', actor });
    assert.equal(paused.events[0]!.event, 'CLUSTER_PAUSED');
    const resumed = resumeCluster(paused.state, actor, at);
    assert.equal(resumed.state.controls.pause, null);
    assert.deepEqual(resumed.events[0]!.payload, { window: paused.state.controls.pause, ended_by: actor, why: 'operator' });
    assert.deepEqual(resumeCluster(resumed.state, actor, at).events, []);
  });

  it('marks every event inside a maintenance window, its start included, and none after its end', () => {
    const started = changeMaintenance(state, { end: false, until: inAnHour, reason: 'upgrade', actor }, at);
    assert.deepEqual(started.events[0]!.maintenance, { until: inAnHour, reason: 'upgrade' });
    const marked = markedForMaintenance(started.events, started.state.controls.maintenance, nowMs + 3_600_000);
    assert.equal(marked, started.events, 'not marked again at its end');
    const ended = changeMaintenance(started.state, { end: true, actor }, at);
    assert.equal(ended.events[0]!.event, 'CLUSTER_MAINTENANCE_ENDED');
    assert.equal(ended.events[0]!.maintenance, undefined);
    assert.deepEqual(changeMaintenance(ended.state, { end: true, actor }, at).events, []);
    assert.match(describeControls(started.state.controls, nowMs), /in maintenance until .* \(by alice: upgrade\)/);
  });

  it('expires windows that ended, pause first, with no actor', () => {
    const soon = new Date(nowMs + 1_000).toISOString();
    const paused = pauseCluster(state, { until: soon, reason: 'r', actor }, at);
    const both = changeMaintenance(paused.state, { end: false, until: soon, reason: 'm', actor }, at);
    assert.deepEqual(expireWindows(both.state, at).events, []);
    const later = { ...at, now_ms: nowMs + 1_000 };
    const expired = expireWindows(both.state, later);
    assert.deepEqual(
      expired.events.map((e) => [e.event, (e.payload as { why: string; ended_by: unknown }).why, (e.payload as { ended_by: unknown }).ended_by, e.id]),
      [
        ['CLUSTER_RESUMED', 'expired', null, 'rs0/control/3/CLUSTER_RESUMED'],
        ['CLUSTER_MAINTENANCE_ENDED', 'expired', null, 'rs0/control/4/CLUSTER_MAINTENANCE_ENDED'],
      ],
    );
    assert.deepEqual([expired.state.controls.pause, expired.state.controls.maintenance, expired.state.controls.revision], [null, null, 4]);
  });
});
