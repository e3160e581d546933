import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { msUntilNextSlot, refreshPhaseMs, slotClockAdvanceMs } from '../../src/domain/refresh-slots.js';

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
