import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { msUntilNextSlot, planSlot, refreshPhaseMs, slotClockAdvanceMs } from '../../src/domain/refresh-slots.js';

describe('refresh slots', () => {
  it('spreads clusters over the interval with a stable phase', () => {
    assert.equal(refreshPhaseMs('rs0', 15_000), refreshPhaseMs('rs0', 15_000));
    const phases = new Set(Array.from({ length: 50 }, (_, i) => Math.floor(refreshPhaseMs(`cluster-${i}`, 15_000) / 1000)));
    assert.ok(phases.size >= 10, `50 clusters should land in many different seconds, got ${phases.size}`);
    for (let i = 0; i < 50; i++) {
      const phase = refreshPhaseMs(`c${i}`, 15_000);
      assert.ok(phase >= 0 && phase < 15_000);
    }
  });

  it('waits until the next slot, never zero', () => {
    assert.equal(msUntilNextSlot(10_000, 15_000, 4_000), 9_000); // next slot at 19 s
    assert.equal(msUntilNextSlot(19_000, 15_000, 4_000), 15_000); // exactly on a slot: the next one
    assert.equal(msUntilNextSlot(1_000, 15_000, 4_000), 3_000); // before the phase
  });

  it('moves workflow time on to a clock read in the worker, never back, at most a quarter interval', () => {
    assert.equal(slotClockAdvanceMs(100_000, 101_800, 60_000), 1_800);
    assert.equal(slotClockAdvanceMs(100_000, 99_990, 60_000), 0);
    assert.equal(slotClockAdvanceMs(100_000, 400_000, 60_000), 15_000);
  });
});

describe('planSlot', () => {
  const base = { now_ms: 100_000, interval_ms: 15_000, cluster_id: 'rs0', last_slot_at_ms: null, pending_slot_at_ms: null, window_end_ms: null };
  const phase = refreshPhaseMs('rs0', 15_000);

  it('waits for the cluster’s next slot', () => {
    const plan = planSlot(base);
    assert.equal(plan.wait_ms, msUntilNextSlot(100_000, 15_000, phase));
    assert.equal(plan.slot_at_ms, 100_000 + plan.wait_ms);
    assert.equal(plan.timer_ms, plan.wait_ms);
  });

  it('never brings the slot already refreshed round again', () => {
    const first = planSlot(base);
    const again = planSlot({ ...base, last_slot_at_ms: first.slot_at_ms });
    assert.equal(again.slot_at_ms, first.slot_at_ms + 15_000);
  });

  it('keeps the slot waited for when a longer interval comes in, and takes a sooner one at once', () => {
    const waited = planSlot(base).slot_at_ms;
    const longer = planSlot({ ...base, interval_ms: 60_000, pending_slot_at_ms: waited });
    assert.equal(longer.slot_at_ms, waited);
    const shorter = planSlot({ ...base, interval_ms: 1_000, pending_slot_at_ms: waited });
    assert.ok(shorter.slot_at_ms <= 101_000 && shorter.slot_at_ms < waited);
    // A pending slot already passed is no reason to wait.
    const passed = planSlot({ ...base, pending_slot_at_ms: 99_000 });
    assert.equal(passed.slot_at_ms, planSlot(base).slot_at_ms);
  });

  it('wakes at the end of a window before the slot, and not for one after it', () => {
    const plan = planSlot({ ...base, window_end_ms: 10 });
    assert.equal(plan.timer_ms, 10);
    assert.equal(plan.wait_ms, planSlot(base).wait_ms);
    assert.equal(planSlot({ ...base, window_end_ms: 10 * 60_000 }).timer_ms, plan.wait_ms);
  });
});
