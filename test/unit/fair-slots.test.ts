// The worker's agent slots: handed to waiting refreshes in turn, given back once, cancellable.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FairSlots } from '../../src/adapters/agent-limits.js';

test('free slots are granted at once; past capacity, waiting parties get one slot each in turn', async () => {
  const slots = new FairSlots(2);
  const big = {};
  const other = {};
  const small = {};
  const held = [await slots.acquire(big), await slots.acquire(big)];
  const order: string[] = [];
  // Each grant is given back as soon as it is recorded, so the order is the slots' alone.
  const wait = (party: object, name: string) =>
    slots.acquire(party).then((release) => {
      order.push(name);
      release();
    });
  // The big refresh queues three more before the others ask: a FIFO would serve all three first.
  const waits = [wait(big, 'big'), wait(big, 'big'), wait(big, 'big'), wait(other, 'other'), wait(small, 'small')];
  held[0]!();
  await Promise.all(waits);
  assert.deepEqual(order, ['big', 'other', 'small', 'big', 'big']);
  held[1]!();
});

test('a release counts once; cancel rejects only that party\'s waits', async () => {
  const slots = new FairSlots(1);
  const release = await slots.acquire({});
  const cancelled = {};
  const reason = new Error('cancelled');
  const doomed = slots.acquire(cancelled);
  const kept = slots.acquire({});
  slots.cancel(cancelled, reason);
  await assert.rejects(doomed, (error) => error === reason);
  release();
  release(); // twice: still one slot
  const next = await kept;
  let third = false;
  const waiting = slots.acquire({}).then(() => (third = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(third, false, 'the only slot is held');
  next();
  await waiting;
  assert.equal(third, true);
});
