// The retirement guard's decision (src/domain/retirement-guard.ts): which shrinks of a
// discovery's list hold its retirements and which retire on time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultRetirementGuard,
  describeRetirementHold,
  holdsRetirements,
  retirementGuardDecision,
  type RetirementGuardSettings,
} from '../../src/domain/retirement-guard.js';

const ids = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

function decide(previous: string[], listed: string[], guard: RetirementGuardSettings = defaultRetirementGuard, listedElsewhere: string[] = []) {
  return retirementGuardDecision({ previous, listed, listedElsewhere }, guard);
}

describe('retirement guard decision', () => {
  it('defaults: more than half, and at least 3 clusters', () => {
    assert.deepEqual(defaultRetirementGuard, { max_missing_share: 0.5, min_missing: 3 });
  });

  it('holds an empty answer of a discovery that listed a fleet', () => {
    const fleet = ids('c', 1000);
    const decision = decide(fleet, []);
    assert.equal(decision.hold, true);
    assert.equal(decision.missing.length, 1000);
    assert.deepEqual([decision.previous, decision.listed], [1000, 0]);
  });

  it('holds a truncated list: 1000 → 188', () => {
    const fleet = ids('c', 1000);
    const decision = decide(fleet, fleet.slice(0, 188));
    assert.equal(decision.hold, true);
    assert.equal(decision.missing.length, 812);
  });

  it('lets small, ordinary changes retire on time: a cluster leaving, a few leaving, exactly half leaving', () => {
    const fleet = ids('c', 10);
    assert.equal(decide(fleet, fleet.slice(1)).hold, false);
    assert.deepEqual(decide(fleet, fleet.slice(1)).missing, ['c-0']);
    assert.equal(decide(fleet, fleet.slice(4)).hold, false, '4 of 10');
    assert.equal(decide(fleet, fleet.slice(5)).hold, false, 'exactly half is not more than half');
    assert.equal(decide(fleet, fleet.slice(6)).hold, true, '6 of 10');
  });

  it('never holds a first run (nothing listed before)', () => {
    assert.equal(decide([], ids('c', 5)).hold, false);
    assert.deepEqual(decide([], []), { hold: false, missing: [], previous: 0, listed: 0 });
  });

  it('never holds small discoveries below the minimum: 2 clusters both gone retire', () => {
    assert.equal(decide(['a', 'b'], []).hold, false);
    assert.equal(decide(['a', 'b', 'c'], []).hold, true, 'three gone of three is at the minimum');
    assert.equal(decide(['a', 'b'], [], { max_missing_share: 0.5, min_missing: 1 }).hold, true, 'a minimum of 1 guards them too');
  });

  it('counts new clusters in the listing, not against the shrink', () => {
    const fleet = ids('c', 6);
    const decision = decide(fleet, ['c-0', 'new-1', 'new-2', 'new-3']);
    assert.deepEqual([decision.hold, decision.missing.length, decision.listed], [true, 5, 4]);
  });

  it('does not count clusters another discovery still lists: they would not go missing', () => {
    const fleet = ids('c', 10);
    const decision = decide(fleet, [], defaultRetirementGuard, fleet.slice(0, 6));
    assert.deepEqual(decision.missing, ['c-6', 'c-7', 'c-8', 'c-9']);
    assert.equal(decision.hold, false, '4 of 10 would go missing');
  });

  it('catches a drip when the baseline keeps the clusters still in their grace period', () => {
    const fleet = ids('c', 1000);
    // Run 2 drops 300 (accepted: they wait out their grace period), run 3 lists 400: measured
    // against the 1000 of the last accepted listing plus those pending, 600 would be missing.
    assert.equal(decide(fleet, fleet.slice(0, 700)).hold, false);
    assert.equal(decide(fleet, fleet.slice(0, 400)).hold, true);
    // Against the last run alone (700), the same answer would have passed.
    assert.equal(decide(fleet.slice(0, 700), fleet.slice(0, 400)).hold, false);
  });

  it('a share of 1 never holds; a share of 0 holds any drop of the minimum', () => {
    const fleet = ids('c', 100);
    assert.equal(decide(fleet, [], { max_missing_share: 1, min_missing: 1 }).hold, false);
    assert.equal(decide(fleet, fleet.slice(3), { max_missing_share: 0, min_missing: 3 }).hold, true);
    assert.equal(decide(fleet, fleet.slice(2), { max_missing_share: 0, min_missing: 3 }).hold, false);
  });

  it('compares shares exactly at the boundary', () => {
    assert.equal(holdsRetirements(3, 30, { max_missing_share: 0.1, min_missing: 1 }), false, '3 of 30 is not more than 0.1');
    assert.equal(holdsRetirements(4, 30, { max_missing_share: 0.1, min_missing: 1 }), true);
    assert.equal(holdsRetirements(0, 0, { max_missing_share: 0, min_missing: 1 }), false);
  });

  it('ignores duplicate ids', () => {
    assert.deepEqual(decide(['a', 'a', 'b', 'c', 'd'], ['a', 'a']), { hold: true, missing: ['b', 'c', 'd'], previous: 4, listed: 1 });
  });
});

describe('describeRetirementHold', () => {
  it('says how many, how the list shrank and when', () => {
    const at = '2026-11-24T10:00:00.000Z';
    assert.equal(
      describeRetirementHold({ held: 812, previous: 1000, listed: 188, since: at, at }),
      `held: 812 retirements (list shrank 1000 → 188 at ${at})`,
    );
    assert.equal(
      describeRetirementHold({ held: 1, previous: 3, listed: 0, since: '2026-11-24T09:00:00.000Z', at }),
      `held: 1 retirement (list shrank 3 → 0 at ${at}, held since 2026-11-24T09:00:00.000Z)`,
    );
  });
});
