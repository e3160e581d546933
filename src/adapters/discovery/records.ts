/**
 * Validation shared by every discovery source: a raw record from outside becomes a normalized
 * DiscoveryRecord, or a problem naming the source, where the record was and what is wrong.
 * One bad record never hides the others; a cluster listed twice keeps its first listing.
 */
import { clusterIdProblem } from '../../domain/ids.js';
import { displayNameProblem, validateDiscoveryNode, validateRecordSettings, type DiscoveryNode, type DiscoveryRecord } from '../../domain/discovery-record.js';
import { describeType, quoted } from '../../domain/text.js';

/** One record (or one input) a source could not use. */
export interface DiscoveryProblem {
  /** Name of the discovery (its settings document). */
  source: string;
  /** Where in the source: `/etc/fleet/a.yaml records[2]`, `page 3 clusters[0]`. */
  location: string;
  /** The record's cluster id when it is a valid one, so callers can keep that cluster's last record. */
  cluster_id?: string;
  /** A full sentence naming the source, the record and the problem. */
  message: string;
}

export interface DiscoveryResult {
  records: DiscoveryRecord[];
  /** Records skipped (invalid, duplicate) and inputs kept at their last good content. */
  errors: DiscoveryProblem[];
}

/** A raw record and where it came from, before validation. */
export interface RawRecord {
  location: string;
  value: unknown;
}

/** Validates the raw records of one source run, in order; duplicates of a cluster id keep the first. */
export function validateRecords(source: string, raw: readonly RawRecord[]): DiscoveryResult {
  const records: DiscoveryRecord[] = [];
  const errors: DiscoveryProblem[] = [];
  const firstSeen = new Map<string, string>();
  for (const { location, value } of raw) {
    const outcome = validateRecord(value);
    if (!outcome.ok) {
      const problem: DiscoveryProblem = { source, location, message: `discovery ${JSON.stringify(source)}: ${location}${describeCluster(outcome.clusterId)} skipped: ${outcome.problem}` };
      if (outcome.clusterId !== undefined) problem.cluster_id = outcome.clusterId;
      errors.push(problem);
      continue;
    }
    const id = outcome.record.cluster_id;
    const earlier = firstSeen.get(id);
    if (earlier !== undefined) {
      errors.push({
        source,
        location,
        cluster_id: id,
        message: `discovery ${JSON.stringify(source)}: cluster_id ${JSON.stringify(id)} listed twice, at ${earlier} and at ${location}: the second is ignored`,
      });
      continue;
    }
    firstSeen.set(id, location);
    records.push(outcome.record);
  }
  return { records, errors };
}

type RecordOutcome = { ok: true; record: DiscoveryRecord } | { ok: false; problem: string; clusterId?: string };

export function validateRecord(value: unknown): RecordOutcome {
  if (!isObject(value)) return { ok: false, problem: `expected an object {cluster_id, display_name, nodes, settings}, got ${describeType(value)}` };
  const clusterIdRaw = value.cluster_id;
  // Only a valid id can have a last record to keep (invalid ones never reach keys or histories).
  const readableId = clusterIdProblem(clusterIdRaw) === null ? (clusterIdRaw as string) : undefined;
  const fail = (problem: string): RecordOutcome => (readableId === undefined ? { ok: false, problem } : { ok: false, problem, clusterId: readableId });

  const idProblem = clusterIdProblem(clusterIdRaw);
  if (idProblem) return fail(idProblem);
  const clusterId = clusterIdRaw as string;

  const nameProblem = displayNameProblem(value.display_name);
  if (nameProblem) return fail(nameProblem);
  const displayName = (value.display_name as string | null | undefined) ?? null;
  if (!Array.isArray(value.nodes)) return fail(`nodes must be a list of agent URLs or node objects, got ${describeType(value.nodes)}`);

  const nodes: DiscoveryNode[] = [];
  const seen = new Set<string>();
  for (const [index, rawNode] of (value.nodes as unknown[]).entries()) {
    const node = validateDiscoveryNode(rawNode);
    if (typeof node === 'string') return fail(`nodes[${index}]: ${node}`);
    if (seen.has(node.agent_address)) return fail(`nodes[${index}]: agent address ${JSON.stringify(node.agent_address)} listed twice`);
    seen.add(node.agent_address);
    nodes.push(node);
  }
  const record: DiscoveryRecord = { cluster_id: clusterId, display_name: displayName, nodes };
  if (value.settings !== undefined && value.settings !== null) {
    const settings = validateRecordSettings(value.settings);
    if (typeof settings === 'string') return fail(settings);
    if (Object.keys(settings).length > 0) record.settings = settings;
  }
  return { ok: true, record };
}

function describeCluster(clusterId: string | undefined): string {
  return clusterId === undefined ? '' : ` (cluster_id ${quoted(clusterId, 128)})`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What a value is, for messages (`a list`, `an object`, `a string`, `nothing`). */
export const typeName = describeType;
