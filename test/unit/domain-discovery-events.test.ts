import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalDiscoveryRecord,
  clusterRetiredEvent,
  discoveryEventId,
  discoveryEvents,
  sameDiscoveryRecord,
} from '../../src/domain/index.js';
import type { DiscoveryRecord } from '../../src/domain/index.js';

const context = { run: 'file-main@2026-11-24T10:00:00.000Z', timestamp: '2026-11-24T10:00:01.250Z' };

const stored: DiscoveryRecord = {
  cluster_id: 'rs0',
  display_name: 'Orders',
  nodes: [{ agent_address: 'https://mongo-2:37017' }, { agent_address: 'https://mongo-1:37017', node_id: 'mongo-1' }],
};

describe('discovery events', () => {
  it('CLUSTER_NEW for a record seen the first time, carrying the canonical record', () => {
    const events = discoveryEvents(null, stored, context);
    assert.equal(events.length, 1);
    assert.deepEqual(events[0], {
      id: 'rs0/discovery/file-main@2026-11-24T10:00:00.000Z/CLUSTER_NEW',
      category: 'CLUSTER',
      event: 'CLUSTER_NEW',
      cluster_id: 'rs0',
      node_id: null,
      generation: 0,
      timestamp: context.timestamp,
      schema: 1,
      payload: {
        cluster_id: 'rs0',
        display_name: 'Orders',
        nodes: [{ agent_address: 'https://mongo-1:37017', node_id: 'mongo-1' }, { agent_address: 'https://mongo-2:37017' }],
      },
    });
  });

  it('nothing when the record is the same up to node order and trailing slashes', () => {
    const reordered: DiscoveryRecord = {
      ...stored,
      nodes: [{ agent_address: 'https://mongo-1:37017/', node_id: 'mongo-1' }, { agent_address: 'https://mongo-2:37017' }],
    };
    assert.deepEqual(discoveryEvents(stored, reordered, context), []);
    assert.ok(sameDiscoveryRecord(stored, reordered));
  });

  const changes: Array<[string, DiscoveryRecord]> = [
    ['display name', { ...stored, display_name: 'Orders (eu)' }],
    ['a node added', { ...stored, nodes: [...stored.nodes, { agent_address: 'https://mongo-3:37017' }] }],
    ['a node removed', { ...stored, nodes: stored.nodes.slice(0, 1) }],
    ['a node hint', { ...stored, nodes: [{ agent_address: 'https://mongo-2:37017', node_group: 'az2' }, stored.nodes[1]!] }],
  ];
  for (const [what, changed] of changes) {
    it(`CLUSTER_CHANGED when ${what} differs, with canonical before and after`, () => {
      const events = discoveryEvents(stored, changed, context);
      assert.equal(events.length, 1);
      const event = events[0];
      assert.equal(event?.event, 'CLUSTER_CHANGED');
      assert.equal(event.id, 'rs0/discovery/file-main@2026-11-24T10:00:00.000Z/CLUSTER_CHANGED');
      assert.deepEqual(event.payload, { before: canonicalDiscoveryRecord(stored), after: canonicalDiscoveryRecord(changed) });
    });
  }

  it('CLUSTER_RETIRED names the cluster and its last record', () => {
    const event = clusterRetiredEvent('rs0', stored, context);
    assert.equal(event.event, 'CLUSTER_RETIRED');
    assert.equal(event.id, 'rs0/discovery/file-main@2026-11-24T10:00:00.000Z/CLUSTER_RETIRED');
    assert.deepEqual(event.payload, { cluster_id: 'rs0', last_record: canonicalDiscoveryRecord(stored) });
    assert.equal(clusterRetiredEvent('rs0', null, context).payload.last_record, null);
  });

  it('ids are deterministic and escape / and % in the run name', () => {
    assert.equal(discoveryEventId('rs0', 'http/prod 50%', 'CLUSTER_NEW'), 'rs0/discovery/http%2Fprod 50%25/CLUSTER_NEW');
    assert.deepEqual(discoveryEvents(null, stored, context), discoveryEvents(null, stored, context));
  });

  it('refuses to compare records of different clusters', () => {
    assert.throws(() => discoveryEvents(stored, { ...stored, cluster_id: 'rs1' }, context), /different clusters/);
  });
});
