import { ApplicationFailure } from '@temporalio/activity';
import { DiscoverySourceError, type DiscoverySetting } from '../adapters/discovery/index.js';
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
  return async function runDiscovery(input: { setting: DiscoverySetting }): Promise<DiscoveryFindings> {
    const source = deps.sources.sourceFor(input.setting);
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
    const stored = await deps.store.loadActive(listed);
    const changes: RecordChange[] = [];
    for (const seen of result.records) {
      const before = stored.get(seen.cluster_id)?.record ?? null;
      if (before === null || !sameDiscoveryRecord(before, seen)) changes.push({ stored: before, seen });
    }
    const problems = result.errors.slice(0, maxProblems).map((e) => e.message);
    if (result.errors.length > maxProblems) problems.push(`... and ${result.errors.length - maxProblems} more problems`);
    return { listed, changes, problems };
  };
}
