// The store's documents as pure functions: a view rebuilt from its documents is the view, what is
// state and what is measurement, and the plan that takes what the store holds to a view.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  entityCollections,
  entityDocuments,
  fingerprint,
  knownFromView,
  materialState,
  noKnownDocuments,
  planWrites,
  summaryOf,
  viewFromDocuments,
  type KnownDocuments,
} from '../../src/adapters/store-documents.js';
import type { ClusterView } from '../../src/domain/cluster-view.js';
import { quietRefresh, variedViews } from '../helpers/cluster-views.js';

const { view1, view2 } = variedViews('rs0');
const kafka = quietRefresh(null, { clusterId: 'kafka', nodes: 30, shardsPerNode: 10 }, 0);

function knownOf(view: ClusterView): KnownDocuments {
  const known = noKnownDocuments();
  const documents = entityDocuments(view);
  for (const collection of entityCollections) for (const doc of documents[collection]) known[collection].set(doc._id, fingerprint(collection, doc));
  return known;
}

describe('store documents', () => {
  it('rebuild the view they were written from, field for field and in the same key order', () => {
    for (const view of [view1, view2, kafka]) {
      const rebuilt = viewFromDocuments(summaryOf(view), entityDocuments(view));
      assert.deepStrictEqual(rebuilt, view);
      assert.equal(JSON.stringify(rebuilt), JSON.stringify(view));
    }
  });

  it('fingerprint a view without building its shard documents, as the built documents would be', () => {
    for (const view of [view1, view2, kafka]) assert.deepStrictEqual(knownFromView(view), knownOf(view));
  });

  it('tell state from measurement, whatever the field order, and a missing field from null', () => {
    const agent = entityDocuments(view2).agents.find((doc) => doc.shards_error !== null)!;
    const measured = { ...agent, generation: 99, last_error: { message: 'other words', at: 'later' }, last_successful_refresh_at: 'later', shards_error: 'other words' };
    const reordered = Object.fromEntries(Object.entries(measured).reverse());
    assert.equal(materialState('agents', reordered), materialState('agents', agent));
    assert.notEqual(materialState('agents', { ...agent, shards_error: null }), materialState('agents', agent));
    assert.notEqual(materialState('agents', { ...agent, status: { code: 'NODE_DOWN' } }), materialState('agents', agent));
    const shard = entityDocuments(view1).shards[0]!;
    assert.equal(materialState('shards', { ...shard, commit_offset: { unit: 'seconds', value: 1 }, lag: { unit: 'seconds', value: 9 } }), materialState('shards', shard));
    assert.notEqual(materialState('shards', { ...shard, role: { unknown: 'leader' } }), materialState('shards', shard));
    // Written before first_seen_at existed: never taken for a document that has it (null or not).
    const { first_seen_at: _firstSeen, ...older } = agent;
    assert.notEqual(materialState('agents', older), materialState('agents', { ...agent, first_seen_at: null as unknown as string }));
  });

  it('plan every document of a first write, only what changed later, and nothing for measurements', () => {
    const first = planWrites(view1, noKnownDocuments());
    assert.equal(first.length, entityCollections.reduce((sum, collection) => sum + entityDocuments(view1)[collection].length, 0));
    assert.ok(first.every((op) => op.kind === 'upsert'));

    const update = planWrites(view2, knownFromView(view1));
    const changed = update.map((op) => `${op.kind} ${op.collection} ${op._id}`).sort();
    assert.deepEqual(changed, [
      // Nodes 4 and 7 went down (the status is in agents and nodes), node 8's shards call failed, node 9 is leaving.
      'upsert agents rs0/http://rs0-n4:9644',
      'upsert agents rs0/http://rs0-n7:9644',
      'upsert agents rs0/http://rs0-n8:9644',
      'upsert agents rs0/http://rs0-n9:9644',
      'upsert nodes rs0/http://rs0-n4:9644',
      'upsert nodes rs0/http://rs0-n7:9644',
    ]);

    const later = quietRefresh(kafka, { clusterId: 'kafka', nodes: 30, shardsPerNode: 10 }, 1);
    assert.deepEqual(planWrites(later, knownFromView(kafka)), []);
    // A shrunk cluster: the documents of the nodes that went are deleted.
    const smaller = quietRefresh(null, { clusterId: 'kafka', nodes: 20, shardsPerNode: 10 }, 2);
    const shrink = planWrites(smaller, knownFromView(kafka));
    assert.ok(shrink.some((op) => op.kind === 'delete' && op.collection === 'agents' && op._id.includes('broker-25')));
  });
});
