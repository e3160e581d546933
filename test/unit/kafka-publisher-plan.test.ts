// How the publisher cuts waiting publishes into produce requests (planRequest, pure), how it
// sizes a record, and its two settings; the real broker is in test/integration/kafka-publisher-split.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { eventHeaders, planRequest, recordBytes, type PlannedPublish } from '../../src/adapters/kafka-publisher.js';
import { ConfigError, loadConfig } from '../../src/config.js';

interface Publish extends PlannedPublish {
  sent: number;
}

/** The publisher's loop on a queue nothing is added to: requests as [publish, event] pairs. */
function drain(sizes: number[][], budget: number): Array<Array<[number, number]>> {
  const queue: Array<Publish & { index: number }> = sizes.map((s, index) => ({ sizes: s, sent: 0, index }));
  const requests: Array<Array<[number, number]>> = [];
  while (queue.length > 0) {
    const counts = planRequest(queue, budget);
    assert.ok(counts.length > 0 && counts.every((c) => c > 0), `an empty part in ${JSON.stringify(counts)}`);
    const taken = queue.splice(0, counts.length);
    const request: Array<[number, number]> = [];
    taken.forEach((publish, i) => {
      for (let e = publish.sent; e < publish.sent + counts[i]!; e++) request.push([publish.index, e]);
      publish.sent += counts[i]!;
      if (publish.sent < publish.sizes.length) queue.push(publish); // the rest takes its turn at the back
    });
    requests.push(request);
  }
  return requests;
}

const bytesOf = (sizes: number[][], request: Array<[number, number]>) => request.reduce((sum, [p, e]) => sum + sizes[p]![e]!, 0);

describe('planRequest', () => {
  it('merges small publishes whole into one request', () => {
    assert.deepEqual(planRequest([{ sizes: [100, 100], sent: 0 }, { sizes: [300], sent: 0 }, { sizes: [50], sent: 0 }], 1000), [2, 1, 1]);
  });

  it('leaves a publish that does not fit for the next request rather than splitting it', () => {
    assert.deepEqual(planRequest([{ sizes: [600], sent: 0 }, { sizes: [300, 300], sent: 0 }], 1000), [1]);
  });

  it('splits a publish larger than the budget, filling the request', () => {
    assert.deepEqual(planRequest([{ sizes: [400, 400, 400, 400], sent: 0 }], 1000), [2]);
    assert.deepEqual(planRequest([{ sizes: [400, 400, 400, 400], sent: 2 }], 1000), [2]);
    assert.deepEqual(planRequest([{ sizes: [300], sent: 0 }, { sizes: [400, 400, 400], sent: 0 }], 1000), [1, 1]);
  });

  it('sends an event larger than the budget alone', () => {
    assert.deepEqual(planRequest([{ sizes: [5000, 10], sent: 0 }], 1000), [1]);
    assert.deepEqual(planRequest([{ sizes: [10], sent: 0 }, { sizes: [5000], sent: 0 }], 1000), [1]);
    assert.deepEqual(planRequest([{ sizes: [5000], sent: 0 }], 1000), [1]);
  });

  it('splits 106,000 events of 0.9 KB into requests under the budget, in order', () => {
    const sizes = [Array.from({ length: 106_000 }, (_, i) => 880 + (i % 40))];
    const requests = drain(sizes, 900 * 1024);
    assert.equal(requests.length, Math.ceil(sizes[0]!.reduce((a, b) => a + b, 0) / (900 * 1024)));
    assert.deepEqual(requests.flat().map(([, e]) => e), sizes[0]!.map((_, i) => i));
    for (const request of requests) assert.ok(bytesOf(sizes, request) <= 900 * 1024);
  });

  it('lets small publishes waiting behind a large one go out in its next request', () => {
    const requests = drain([[600, 600, 600], [100], [100]], 1000);
    assert.deepEqual(requests, [[[0, 0]], [[1, 0], [2, 0], [0, 1]], [[0, 2]]]);
  });

  it('for any queue and budget: each publish goes out once, in order; requests stay under the budget unless one event exceeds it; a publish that fits is never split', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 5000 }), (sizes, budget) => {
        const requests = drain(sizes, budget);
        const seen = sizes.map(() => [] as number[]);
        for (const request of requests) {
          for (const [p, e] of request) seen[p]!.push(e);
          if (request.length > 1) assert.ok(bytesOf(sizes, request) <= budget, `request ${JSON.stringify(request)} over ${budget}`);
        }
        sizes.forEach((events, p) => {
          assert.deepEqual(seen[p], events.map((_, e) => e), `publish ${p} out of order or incomplete`);
          const total = events.reduce((a, b) => a + b, 0);
          if (total <= budget) assert.equal(requests.filter((r) => r.some(([q]) => q === p)).length, 1, `publish ${p} fits but was split`);
        });
      }),
      { numRuns: 500 },
    );
  });
});

describe('recordBytes', () => {
  it('counts the UTF-8 bytes of key, value and headers plus their framing at its widest', () => {
    const event = { id: 'c/1/0', category: 'NODE', event: 'NODE_DOWN', cluster_id: 'c', timestamp: '2026-11-24T10:00:01.000Z', note: 'é' };
    const value = JSON.stringify(event);
    const headers = eventHeaders(event);
    const headerBytes = Object.entries(headers).reduce((sum, [name, v]) => sum + name.length + v.length, 0);
    const utf8Value = value.length + 1; // é is one UTF-16 unit, two UTF-8 bytes
    assert.equal(recordBytes({ key: 'c', value, headers }), 36 + 'c'.length + utf8Value + headerBytes + 10 * Object.keys(headers).length);
  });
});

describe('the Kafka producer settings', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems;
    }
    return [];
  };

  it('default to gzip and 900 KiB', () => {
    const config = loadConfig({});
    assert.equal(config.kafka.compression, 'gzip');
    assert.equal(config.kafka.maxRequestBytes, 900 * 1024);
    assert.deepEqual({ ...loadConfig({ FLEETVIEW_KAFKA_COMPRESSION: 'NONE', FLEETVIEW_KAFKA_MAX_REQUEST_BYTES: '65536' }).kafka }, { ...config.kafka, compression: 'none', maxRequestBytes: 65536 });
  });

  it('refuse codecs kafkajs has no codec for, naming the supported ones', () => {
    for (const codec of ['zstd', 'snappy', 'lz4']) {
      assert.deepEqual(problems({ FLEETVIEW_KAFKA_COMPRESSION: codec }), [
        `FLEETVIEW_KAFKA_COMPRESSION="${codec}": ${codec} needs a kafkajs codec package that fleetview does not ship: expected one of gzip, none`,
      ]);
    }
    assert.deepEqual(problems({ FLEETVIEW_KAFKA_COMPRESSION: 'brotli' }), ['FLEETVIEW_KAFKA_COMPRESSION="brotli": expected one of gzip, none']);
  });

  it('refuse a budget that is not a whole number of bytes from 1 KiB to 64 MiB', () => {
    for (const bad of ['0', '1023', '1.5', '900KiB', String(64 * 1024 * 1024 + 1)]) {
      assert.deepEqual(problems({ FLEETVIEW_KAFKA_MAX_REQUEST_BYTES: bad }), [`FLEETVIEW_KAFKA_MAX_REQUEST_BYTES=${JSON.stringify(bad)}: expected an integer from 1024 to 67108864`]);
    }
  });
});
