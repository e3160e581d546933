/**
 * The discovery workflow's contract with the schedule, the CLI and operators: its type name and
 * its result. The wire name 'discovery' is typed by operators (`temporal workflow start --type
 * discovery`): never rename it.
 */
import type { RetirementHold } from '../domain/retirement-guard.js';

export const discoveryWorkflowType = 'discovery';

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
