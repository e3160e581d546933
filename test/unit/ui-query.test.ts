// The fleet page's query parameters (src/ui/query.ts): defaults, every parameter read, and every
// bad value a clear 400 naming the parameter.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultFleetQuery } from '../../src/ui/fleet-rows.js';
import { BadQuery, parseClusterId, parseClusterPageQuery, parseEventsQuery, parseFleetQuery, queryString } from '../../src/ui/query.js';

const params = (text: string) => new URLSearchParams(text);

function refused(parse: () => unknown, param: string, message: RegExp): void {
  assert.throws(parse, (err: unknown) => {
    assert.ok(err instanceof BadQuery, String(err));
    assert.equal(err.param, param);
    assert.match(err.message, message);
    assert.ok(err.message.startsWith(`bad query parameter ${param}: `), err.message);
    return true;
  });
}

describe('fleet page parameters', () => {
  it('default to every cluster, the worst first, 1,000 a page; empty values are no values', () => {
    assert.deepEqual(parseFleetQuery(params('')), defaultFleetQuery);
    assert.deepEqual(parseFleetQuery(params('status=&kind=&q=&control=&sort=&dir=')), defaultFleetQuery);
  });

  it('read status lists (any case), kind, text, paused or in maintenance, sort, direction and paging', () => {
    assert.deepEqual(parseFleetQuery(params('status=degraded,UNAVAILABLE&status=degraded&kind=kafka&q=orders&control=maintenance&sort=refreshed&dir=desc&offset=10&limit=20')), {
      status: ['DEGRADED', 'UNAVAILABLE'],
      kind: 'kafka',
      q: 'orders',
      control: 'maintenance',
      sort: 'refreshed',
      dir: 'desc',
      offset: 10,
      limit: 20,
    });
  });

  it('answer a bad value naming the parameter and what it expects', () => {
    refused(() => parseFleetQuery(params('status=SICK')), 'status', /expected UNAVAILABLE, DEGRADED, NEW, HEALTHY, RETIRED .*got "SICK"/);
    refused(() => parseFleetQuery(params('sort=size')), 'sort', /expected one of status, cluster, .* got "size"/);
    refused(() => parseFleetQuery(params('dir=up')), 'dir', /expected one of asc, desc, got "up"/);
    refused(() => parseFleetQuery(params('limit=0')), 'limit', /from 1 to 5000, got "0"/);
    refused(() => parseFleetQuery(params('limit=1e3')), 'limit', /whole number/);
    refused(() => parseFleetQuery(params('offset=-1')), 'offset', /whole number/);
    refused(() => parseFleetQuery(params(`q=${'a'.repeat(201)}`)), 'q', /at most 200 characters, got 201/);
    refused(() => parseFleetQuery(params('q=a%1B%5B2J')), 'q', /control character U\+001B/);
    refused(() => parseFleetQuery(params('sort=status&sort=cluster')), 'sort', /more than once/);
    refused(() => parseFleetQuery(params('control=resting')), 'control', /expected one of paused, maintenance, got "resting"/);
    refused(() => parseFleetQuery(params('colour=red')), '"colour"', /unknown \(this page takes status, kind, q, control, sort, dir, offset, limit\)/);
    refused(() => parseFleetQuery(params(`${encodeURIComponent('<b>')}=1`)), '"<b>"', /unknown/);
  });
});

describe('cluster page parameters', () => {
  it('page members and shards apart, 50 by default, at most 1,000', () => {
    assert.deepEqual(parseClusterPageQuery(params('')), { node: null, shard: null, members_offset: 0, shards_offset: 0, limit: 50 });
    assert.deepEqual(parseClusterPageQuery(params('node=n1&shard=topic-3&members_offset=100&shards_offset=2000&limit=1000')), {
      node: 'n1',
      shard: 'topic-3',
      members_offset: 100,
      shards_offset: 2000,
      limit: 1000,
    });
    refused(() => parseClusterPageQuery(params('limit=1001')), 'limit', /from 1 to 1000/);
    refused(() => parseClusterPageQuery(params('members_offset=x')), 'members_offset', /whole number/);
    refused(() => parseClusterPageQuery(params('offset=5')), '"offset"', /unknown/);
  });

  it('check the cluster id of the path like every other door', () => {
    assert.equal(parseClusterId('rs0'), 'rs0');
    refused(() => parseClusterId('{"$gt":""}'), 'cluster', /invalid cluster id/);
    refused(() => parseClusterId('../../etc/passwd'), 'cluster', /invalid cluster id/);
  });
});

describe('events page parameters', () => {
  it('filter by cluster and event codes; the stream resumes after a position', () => {
    assert.deepEqual(parseEventsQuery(params('')), { cluster: null, codes: [], limit: 200, after: null });
    assert.deepEqual(parseEventsQuery(params('cluster=rs0&code=node_down,AGENT_DOWN&limit=5&after=ab12:42')), {
      cluster: 'rs0',
      codes: ['NODE_DOWN', 'AGENT_DOWN'],
      limit: 5,
      after: 'ab12:42',
    });
    refused(() => parseEventsQuery(params('cluster=a/b')), 'cluster', /invalid cluster id/);
    refused(() => parseEventsQuery(params('code=NODE_EXPLODED')), 'code', /event codes .* got "NODE_EXPLODED"/);
    refused(() => parseEventsQuery(params('after=x')), 'after', /stream position/);
    refused(() => parseEventsQuery(params('limit=5000')), 'limit', /from 0 to 2000/);
  });
});

it('queryString keeps the given values and drops the empty ones', () => {
  assert.equal(queryString({ status: ['DEGRADED', 'NEW'], kind: null, q: 'a b&c', offset: 0, limit: undefined }), '?status=DEGRADED%2CNEW&q=a+b%26c&offset=0');
  assert.equal(queryString({ status: [], q: '' }), '');
});
