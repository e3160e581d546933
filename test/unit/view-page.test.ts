import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregate } from '../../src/domain/index.js';
import type { NodeObservation } from '../../src/domain/index.js';
import { defaultViewPageLimit, viewPage, viewPageProblem } from '../../src/domain/view-page.js';
import { at, graceMs, record, shard, up } from './domain-fixtures.js';

function bigView(nodes: number, shardsPerNode: number) {
  const numbers = Array.from({ length: nodes }, (_, i) => i + 1);
  const observations: NodeObservation[] = numbers.map((n) =>
    up(n, Array.from({ length: shardsPerNode }, (_, s) => shard(`p${(n + s) % (nodes * 2)}`, s === 0 ? 'primary' : 'secondary'))),
  );
  return aggregate(null, record(numbers), observations, at(0), { nodeRetireGraceMs: graceMs });
}

describe('view pages', () => {
  it('give the summary whole and the first page of members and shards by default', () => {
    const view = bigView(300, 10);
    const { view: page, page: info } = viewPage(view);
    assert.equal(page.nodes, 300);
    assert.equal(page.shards_count, view.shards_count);
    assert.equal(page.members.length, defaultViewPageLimit);
    assert.equal(page.shards.length, defaultViewPageLimit);
    assert.deepEqual(page.members.map((m) => m.address), view.members.slice(0, defaultViewPageLimit).map((m) => m.address));
    assert.equal(info.members_total, 300);
    assert.equal(info.shards_total, view.shards.length);
  });

  it('pages with offset and limit', () => {
    const view = bigView(30, 2);
    const { view: page } = viewPage(view, { offset: 10, limit: 5 });
    assert.deepEqual(page.members.map((m) => m.address), view.members.slice(10, 15).map((m) => m.address));
    assert.equal(viewPage(view, { offset: 100 }).view.members.length, 0);
  });

  it('filters to one node (by address or node id) and the shards it holds', () => {
    const view = bigView(30, 3);
    const target = view.members[7]!;
    for (const key of [target.address, target.node_id!]) {
      const { view: page, page: info } = viewPage(view, { node: key });
      assert.deepEqual(page.members.map((m) => m.address), [target.address]);
      assert.deepEqual(page.shards.map((s) => s.id).sort(), target.shards!.map((s) => s.id).sort());
      assert.equal(info.members_total, 1);
    }
  });

  it('filters to one shard: its summary and the members holding it, with only that shard', () => {
    const view = bigView(30, 3);
    const { view: page } = viewPage(view, { shard: 'p5' });
    assert.deepEqual(page.shards.map((s) => s.id), ['p5']);
    assert.ok(page.members.length > 0);
    for (const member of page.members) assert.deepEqual(member.shards?.map((s) => s.id), ['p5']);
    assert.equal(page.members.length, view.shards.find((s) => s.id === 'p5')!.allocations);
  });

  it('stays under its size budget for any limit, saying when it cut the page', () => {
    const view = bigView(1000, 50);
    const { view: page, page: info } = viewPage(view, { limit: 1000 });
    assert.ok(JSON.stringify(page).length < 100 * 1024, `${JSON.stringify(page).length} bytes`);
    assert.ok(info.truncated);
    assert.ok(page.members.length >= 1 && page.members.length < 1000);
  });

  it('names what is wrong with a bad request', () => {
    assert.equal(viewPageProblem(undefined), null);
    assert.equal(viewPageProblem({ node: 'a', limit: 10, offset: 0 }), null);
    assert.match(viewPageProblem({ limit: 0 }) ?? '', /limit must be an integer from 1 to 1000, got 0/);
    assert.match(viewPageProblem({ offset: -1 }) ?? '', /offset must be an integer >= 0, got -1/);
    assert.match(viewPageProblem({ shard: '' }) ?? '', /shard must be a non-empty string/);
    assert.match(viewPageProblem({ nodes: 'x' }) ?? '', /unknown field "nodes"/);
    assert.match(viewPageProblem('x') ?? '', /must be an object/);
  });
});
