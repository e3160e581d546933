/**
 * The discovery workflow's contract with the schedule, the CLI and operators: its type name and
 * its result. The wire name 'discovery' is typed by operators (`temporal workflow start --type
 * discovery`): never rename it.
 */
import type { RetirementHold } from '../domain/retirement-guard.js';

export const discoveryWorkflowType = 'discovery';

/**
 * Priority of every discovery run (the schedule's and `fleetview discovery run`'s; its activities
 * inherit it): ahead of the cluster workflows' tasks (the default, 3). A run that lists a new
 * fleet starts a workflow per cluster, and each new workflow's first task goes to the shared task
 * queue; without it, the run's own next task queued behind them (70 s behind 1,000 new clusters
 * on the cluster profile), and so did every cluster it had not started yet. Needs the server's
 * priority matcher (matching.useNewMatcher, on by default in server 1.32, which we run); a server
 * without it ignores the key.
 */
export const discoveryPriority = { priorityKey: 1 } as const;

export interface DiscoveryOutcome {
  discovery: string;
  ok: boolean;
  /** Clusters the source listed. */
  clusters: number;
  /** New or changed records. */
  changed: number;
  events: number;
  /** Records skipped, inputs kept at their last good content. */
  problems: string[];
  error: string | null;
  /** Present when the retirement guard holds this discovery's retirements after this run. */
  hold?: RetirementHold;
}

export interface DiscoveryRunResult {
  /** The run's time: its scheduled time, or its start time when started by hand (ISO 8601). */
  at: string;
  discoveries: DiscoveryOutcome[];
  /** Clusters retired by this run. */
  retired: string[];
}
