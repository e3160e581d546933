/**
 * The retirement guard: a discovery that suddenly lists far fewer clusters than before retires
 * nothing until an operator confirms or the list recovers (ARCHITECTURE.md, invariant 10). An
 * inventory answering 200 with an empty or truncated list (a bad deploy, a wrong filter) looks
 * exactly like a fleet being decommissioned; only its size tells them apart.
 *
 * A successful run of a discovery is held when it would make missing
 *   more than `max_missing_share` of the clusters the discovery vouched for, and
 *   at least `min_missing` clusters.
 *
 * What it vouched for ("previous") is its last accepted listing, plus the clusters it dropped in
 * earlier runs that are still waiting out their grace period: a list that shrinks a little at
 * every run adds up within the grace period, so a fast drip of truncation is caught like a
 * single drop. A held run leaves the baseline as it was, so later truncated runs are measured
 * against the list from before the shrink, not against each other.
 *
 * Pure and workflow-safe: the store gathers the ids, this decides.
 */

export interface RetirementGuardSettings {
  /** Hold when more than this share (0 to 1) of the discovery's clusters would go missing at once; 1 never holds. */
  max_missing_share: number;
  /** ... and at least this many clusters: small, ordinary changes of small discoveries retire on time. */
  min_missing: number;
}

export const defaultRetirementGuard: Readonly<RetirementGuardSettings> = Object.freeze({ max_missing_share: 0.5, min_missing: 3 });

export interface ListingShrink {
  /** Clusters the discovery vouched for before this run: its last accepted listing and the clusters it dropped that are not retired yet. */
  previous: readonly string[];
  /** Clusters this run listed (new ones included). */
  listed: readonly string[];
  /** Clusters of `previous` that another discovery lists: they would not go missing. */
  listedElsewhere: readonly string[];
}

export interface RetirementGuardDecision {
  /** True: the clusters in `missing` keep their listing and nothing is retired for this run. */
  hold: boolean;
  /** Clusters of `previous` this run would make missing (no discovery lists them any more). */
  missing: string[];
  previous: number;
  listed: number;
}

/** The rule on counts alone. */
export function holdsRetirements(missing: number, previous: number, guard: RetirementGuardSettings): boolean {
  // A ratio, not `share * previous`: 3 of 30 against 0.1 compares equal values exactly.
  return missing > 0 && missing >= guard.min_missing && missing / previous > guard.max_missing_share;
}

export function retirementGuardDecision(shrink: ListingShrink, guard: RetirementGuardSettings): RetirementGuardDecision {
  const listed = new Set(shrink.listed);
  const elsewhere = new Set(shrink.listedElsewhere);
  const previous = [...new Set(shrink.previous)];
  const missing = previous.filter((id) => !listed.has(id) && !elsewhere.has(id)).sort();
  return { hold: holdsRetirements(missing.length, previous.length, guard), missing, previous: previous.length, listed: listed.size };
}

/** A discovery's held retirements, as stored with its settings and shown to operators. Times are ISO 8601. */
export interface RetirementHold {
  /** Clusters whose retirement is held. */
  held: number;
  /** Clusters the discovery vouched for when its latest run was held. */
  previous: number;
  /** Clusters its latest held run listed. */
  listed: number;
  /** The first run held since the list last looked normal. */
  since: string;
  /** The latest run held. */
  at: string;
}

/** `held: 812 retirements (list shrank 1000 → 188 at 2026-11-24T10:00:00.000Z)`. */
export function describeRetirementHold(hold: RetirementHold): string {
  const since = hold.since === hold.at ? '' : `, held since ${hold.since}`;
  return `held: ${hold.held} retirement${hold.held === 1 ? '' : 's'} (list shrank ${hold.previous} → ${hold.listed} at ${hold.at}${since})`;
}
