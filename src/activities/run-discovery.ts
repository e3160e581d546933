import { ApplicationFailure } from '@temporalio/activity';
import { DiscoverySourceError } from '../adapters/discovery/index.js';
import { sameDiscoveryRecord } from '../domain/discovery-events.js';
import type { DiscoveryRecord } from '../domain/discovery-record.js';
import type { DiscoveryDependencies } from './discovery-dependencies.js';

/** A record that is new or differs from the stored one. */
export interface RecordChange {
  /** The active stored record; null for a cluster never seen (or seen again after retirement). */
  stored: DiscoveryRecord | null;
  seen: DiscoveryRecord;
}

export interface DiscoveryFindings {
  /** Every cluster the source vouches for: its valid records plus those whose bad record was skipped. */
  listed: string[];
  /** Only the records that changed, so the workflow's history stays small on a quiet fleet. */
  changes: RecordChange[];
  /** Skipped records and inputs kept at their last good content, one sentence each. */
  problems: string[];
}

const maxProblems = 50;

export function runDiscoveryActivity(deps: DiscoveryDependencies) {
  return async function runDiscovery(input: { discovery: string }): Promise<DiscoveryFindings> {
    // Read here, not passed in: settings may carry credentials that must not land in histories.
    const stored = await deps.store.getSetting(input.discovery);
    if (stored === null) {
      throw ApplicationFailure.create({ type: 'DiscoveryNotFound', message: `discovery ${JSON.stringify(input.discovery)} was deleted before it ran`, nonRetryable: true });
    }
    if (!stored.ok) throw ApplicationFailure.create({ type: 'InvalidDiscoverySetting', message: stored.problem, nonRetryable: true });
    const source = deps.sources.sourceFor(stored.setting);
    let result;
    try {
      result = await source.discover();
    } catch (err) {
      if (err instanceof DiscoverySourceError) {
        // Only the source knows whether trying again can help (a refused connection) or not (a bad glob).
        throw ApplicationFailure.create({ type: 'DiscoverySourceError', message: err.message, nonRetryable: !err.retriable });
      }
      throw err;
    }
    // A cluster whose record was skipped keeps its last known record: still listed, not changed.
    const listed = [...new Set([...result.records.map((r) => r.cluster_id), ...result.errors.flatMap((e) => (e.cluster_id ? [e.cluster_id] : []))])];
    const active = await deps.store.loadActive(listed);
    const changes: RecordChange[] = [];
    for (const seen of result.records) {
      const before = active.get(seen.cluster_id)?.record ?? null;
      if (before === null || !sameDiscoveryRecord(before, seen)) changes.push({ stored: before, seen });
    }
    const problems = result.errors.slice(0, maxProblems).map((e) => e.message);
    if (result.errors.length > maxProblems) problems.push(`... and ${result.errors.length - maxProblems} more problems`);
    return { listed, changes, problems };
  };
}
