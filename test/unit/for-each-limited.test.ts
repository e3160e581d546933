import assert from 'node:assert/strict';
import { it } from 'node:test';
import { forEachLimited } from '../../src/for-each-limited.js';

it('visits every item once, never more than the limit at a time', async () => {
  const seen: number[] = [];
  let inFlight = 0;
  let most = 0;
  await forEachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
    most = Math.max(most, ++inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    seen.push(item);
    inFlight--;
  });
  assert.deepEqual([...seen].sort(), [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(most, 3);
});

it('rejects with the first failure', async () => {
  await assert.rejects(
    forEachLimited(['a', 'b', 'c'], 2, (item) => (item === 'b' ? Promise.reject(new Error(`item ${item} failed`)) : Promise.resolve())),
    /item b failed/,
  );
});

it('does nothing for no items', async () => {
  let calls = 0;
  await forEachLimited([], 4, () => {
    calls++;
    return Promise.resolve();
  });
  assert.equal(calls, 0);
});
