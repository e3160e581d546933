// The CLI's readable output: one line per event saying what changed, aligned tables, relative times.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventDetail, formatEvent } from '../../src/cli/event-format.js';
import { relativeTime, table } from '../../src/cli/format.js';
import { envelope, type EventDraft, type FleetEvent } from '../../src/domain/event-catalogue.js';

const at = '2026-11-24T10:00:00.000Z';
const event = (draft: EventDraft, id = 'rs0/7/0'): FleetEvent => envelope(draft, { id, cluster_id: 'rs0', generation: 7, timestamp: at });
const address = 'http://agents.test/rs0/n2';

describe('event lines', () => {
  it('name the time, cluster, event, node and the change', () => {
    const down = event({
      event: 'NODE_DOWN',
      node_id: 'mongo-2:27017',
      payload: { address, before: { code: 'UP' }, after: { code: 'NODE_DOWN', reason: 'datastore info: HTTP 503' } },
    });
    assert.equal(formatEvent(down), `${at}  rs0               NODE_DOWN                 mongo-2:27017  UP -> NODE_DOWN: datastore info: HTTP 503`);
  });

  it('fall back to the agent address while the node id is unknown', () => {
    const line = formatEvent(event({ event: 'AGENT_NEW', node_id: null, payload: { address, status: { code: 'AGENT_DOWN', reason: 'refused' } } }));
    assert.match(line, new RegExp(`AGENT_NEW\\s+${address}  ${address} AGENT_DOWN: refused$`));
  });

  it('say which nodes joined and left, and how primaries moved', () => {
    const before = { cluster_id: 'rs0', display_name: 'Orders', nodes: [{ agent_address: 'http://a/1' }, { agent_address: 'http://a/2' }] };
    const after = { cluster_id: 'rs0', display_name: 'Orders', nodes: [{ agent_address: 'http://a/2' }, { agent_address: 'http://a/3' }] };
    assert.equal(eventDetail(event({ event: 'CLUSTER_CHANGED', node_id: null, payload: { before, after } })), '2 -> 2 nodes: +http://a/3 -http://a/1');
    assert.equal(eventDetail(event({ event: 'CLUSTER_NEW', node_id: null, payload: after })), '2 nodes (Orders)');
    const moved = event({
      event: 'SHARD_PRIMARY_CHANGED',
      node_id: null,
      payload: { shard_id: 'rs0', before: [{ address: 'http://a/1', node_id: 'n1:27017' }], after: [{ address: 'http://a/2', node_id: null }] },
    });
    assert.equal(eventDetail(moved), 'shard rs0: n1:27017 -> http://a/2');
    const lost = event({ event: 'SHARD_PRIMARY_LOST', node_id: null, payload: { shard_id: 'rs0', before: [{ address: 'http://a/1', node_id: 'n1:27017' }], after: [] } });
    assert.equal(eventDetail(lost), 'shard rs0: n1:27017 -> none');
    const changed = event({
      event: 'NODE_CHANGED',
      node_id: 'n3:27017',
      payload: {
        address,
        before: { cluster_id: 'rs0', node_id: 'n3:27017', kind: 'mongodb', version: '6.0.5', cluster_display_name: null },
        after: { cluster_id: 'rs0', node_id: 'n3:27017', kind: 'mongodb', version: '7.0.1', cluster_display_name: null },
      },
    });
    assert.equal(eventDetail(changed), 'version 6.0.5 -> 7.0.1');
  });
});

describe('tables and times', () => {
  it('pads every column but the last to its widest cell', () => {
    assert.equal(table(['A', 'LONGER'], [['wide cell', 'x'], ['b', '']]), 'A          LONGER\nwide cell  x\nb');
  });

  it('says how long ago or how soon', () => {
    const now = Date.parse(at);
    assert.equal(relativeTime('2026-11-24T09:59:55.000Z', now), '5s ago');
    assert.equal(relativeTime('2026-11-24T10:05:00.000Z', now), 'in 5m');
    assert.equal(relativeTime('2026-11-24T07:00:00.000Z', now), '3h ago');
    assert.equal(relativeTime(null, now), '-');
  });
});
