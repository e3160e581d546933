import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventSchemaProblems } from '../../src/adapters/event-schema.js';
import { clusterRetiredEvent, discoveryEvents, eventCodes, eventPayloadSchemas, fleetEventSchema } from '../../src/domain/index.js';
import { controlEventId, discoveryScopedEvent, envelope, type ControlEventCode, type EventDraft, type EventPayloads } from '../../src/domain/event-catalogue.js';
import type { FleetEvent } from '../../src/domain/index.js';
import { agentDown, agentInfo, at, datastoreInfo, nodeDown, record, refresh, shard, up } from './domain-fixtures.js';

/** A short history that emits every event code of the catalogue at least once. */
function everyKindOfEvent(): FleetEvent[] {
  const first = refresh(null, record([1, 2, 3]), [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'secondary'), shard('x', 'secondary')]), up(3, [shard('rs0', 'secondary')])], at(0));
  const second = refresh(first.view, record([1, 2, 3]), [agentDown(1), nodeDown(2), up(3, [shard('rs0', 'secondary')], { agent: agentInfo('0.4.0'), datastore: datastoreInfo(3, '7.0.2') })], at(1));
  const third = refresh(second.view, record([1, 2, 3]), [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'secondary')]), up(3, [shard('rs0', 'primary')])], at(2));
  const fourth = refresh(third.view, record([1, 2]), [up(1, [shard('rs0', 'primary')]), up(2, [shard('rs0', 'secondary')])], at(3), 0);
  const context = { run: 'file-main@2026-11-24T10:00:00.000Z', timestamp: at(0) };
  return [
    ...first.events,
    ...second.events,
    ...third.events,
    ...fourth.events,
    ...discoveryEvents(null, record([1, 2, 3]), context),
    ...discoveryEvents(record([1, 2, 3]), record([1, 2]), context),
    clusterRetiredEvent('rs0', record([1, 2]), context),
    ...operatorEvents(),
  ];
}

/** One event of every operator action, as the cluster workflow and the CLI build them. */
function operatorEvents(): FleetEvent[] {
  const actor = { user: 'alice', identity: '42@host' };
  const window = { since: at(4), until: at(6), reason: 'kernel upgrade', actor };
  let revision = 0;
  const control = <C extends ControlEventCode>(event: C, payload: EventPayloads[C]) =>
    envelope({ event, node_id: null, payload } as EventDraft, { id: controlEventId('rs0', ++revision, event), cluster_id: 'rs0', generation: 4, timestamp: at(5) });
  const marked = { ...control('CLUSTER_MAINTENANCE_STARTED', window), maintenance: { until: at(6), reason: 'kernel upgrade' } };
  return [
    control('CLUSTER_SETTINGS_CHANGED', {
      actor,
      layer: 'operator',
      changes: [{ setting: 'refresh_interval_s', before: { value: 15, source: 'default' }, after: { value: 60, source: 'operator' } }],
    }),
    control('CLUSTER_PAUSED', { ...window, until: null }),
    control('CLUSTER_RESUMED', { window: { ...window, until: null }, ended_by: actor, why: 'operator' }),
    marked,
    control('CLUSTER_MAINTENANCE_ENDED', { window, ended_by: null, why: 'expired' }),
    control('CLUSTER_REFRESH_REQUESTED', { actor, wait: true }),
    discoveryScopedEvent('DISCOVERY_APPLIED', { actor, discovery: 'inventory', before: null, after: { name: 'inventory', options: { token: '[redacted]' } } }, at(5)),
    discoveryScopedEvent('DISCOVERY_DELETED', { actor, discovery: 'inventory', before: { name: 'inventory' }, after: null }, at(5)),
    discoveryScopedEvent('DISCOVERY_PAUSED', { actor, discovery: 'inventory', reason: 'migration', until: null, clusters: 3 }, at(5)),
    discoveryScopedEvent('DISCOVERY_RESUMED', { actor, discovery: 'inventory', reason: '', until: null, clusters: 3 }, at(5)),
    discoveryScopedEvent('RETIREMENT_HOLD_RELEASED', { actor, discovery: 'inventory', released: 2 }, at(5)),
  ];
}

function mutated(event: FleetEvent, change: (copy: Record<string, unknown>) => void): unknown {
  const copy = structuredClone(event) as unknown as Record<string, unknown>;
  change(copy);
  return copy;
}

describe('event JSON Schema', () => {
  const events = everyKindOfEvent();

  it('the sample history covers the whole catalogue', () => {
    assert.deepEqual([...new Set(events.map((event) => event.event))].sort(), [...eventCodes].sort());
    assert.deepEqual(Object.keys(eventPayloadSchemas).sort(), [...eventCodes].sort());
  });

  it('every emitted event validates', () => {
    for (const event of events) assert.deepEqual(eventSchemaProblems(event), [], `${event.id} ${event.event}`);
  });

  it('is plain JSON', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(fleetEventSchema)), fleetEventSchema);
  });

  const nodeDownEvent = events.find((event) => event.event === 'NODE_DOWN');
  const statusEvent = events.find((event) => event.event === 'CLUSTER_STATUS_CHANGED');
  const newCluster = events.find((event) => event.event === 'CLUSTER_NEW');
  assert.ok(nodeDownEvent && statusEvent && newCluster);

  const invalid: Array<[string, unknown, RegExp]> = [
    ['an unknown event code', mutated(nodeDownEvent, (e) => (e.event = 'NODE_EXPLODED')), /\/event must be equal to one of the allowed values/],
    ['a category that does not match the code', mutated(nodeDownEvent, (e) => (e.category = 'AGENT')), /\/category must be equal to constant/],
    ['a missing payload field', mutated(nodeDownEvent, (e) => delete (e.payload as Record<string, unknown>).after), /\/payload must have required property 'after'/],
    ['an unexpected payload field', mutated(nodeDownEvent, (e) => ((e.payload as Record<string, unknown>).extra = 1)), /\/payload must NOT have additional properties/],
    ['an unexpected envelope field', mutated(nodeDownEvent, (e) => (e.extra = 1)), /must NOT have additional properties/],
    ['a bad status code', mutated(nodeDownEvent, (e) => ((e.payload as { after: { code: string } }).after.code = 'DOWN')), /\/payload\/after\/code/],
    ['a timestamp that is not date-time', mutated(nodeDownEvent, (e) => (e.timestamp = 'yesterday')), /\/timestamp must match format "date-time"/],
    ['another schema version', mutated(nodeDownEvent, (e) => (e.schema = 2)), /\/schema must be equal to constant/],
    ['a refresh event of generation 0', mutated(nodeDownEvent, (e) => (e.generation = 0)), /\/generation must be >= 1/],
    ['a refresh event id that is not cluster/generation/index', mutated(nodeDownEvent, (e) => (e.id = 'rs0-2-1')), /\/id must match pattern/],
    ['a node id on a cluster-level event', mutated(statusEvent, (e) => (e.node_id = 'mongo-1')), /\/node_id must be null/],
    ['a discovery event with a generation', mutated(newCluster, (e) => (e.generation = 3)), /\/generation must be equal to constant/],
    ['an invalid cluster id', mutated(newCluster, (e) => (e.cluster_id = 'a/b')), /\/cluster_id must match pattern/],
    ['a fractional offset', mutated(events.find((e) => e.event === 'SHARD_ALLOCATION_NEW')!, (e) => ((e.payload as { commit_offset: { value: number } }).commit_offset.value = 1.5)), /commit_offset\/value must be integer/],
  ];
  for (const [what, event, problem] of invalid) {
    it(`rejects ${what}`, () => {
      const problems = eventSchemaProblems(event);
      assert.ok(problems.some((text) => problem.test(text)), problems.join('\n'));
    });
  }
});
