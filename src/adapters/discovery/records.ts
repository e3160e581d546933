/**
 * Validation shared by every discovery source: a raw record from outside becomes a normalized
 * DiscoveryRecord, or a problem naming the source, where the record was and what is wrong.
 * One bad record never hides the others; a cluster listed twice keeps its first listing.
 */
import { agentAddressProblem, clusterIdProblem, nodeIdProblem, normalizeAgentAddress } from '../../domain/ids.js';
import type { DiscoveryNode, DiscoveryRecord } from '../../domain/discovery-record.js';

/** One record (or one input) a source could not use. */
export interface DiscoveryProblem {
  /** Name of the discovery (its settings document). */
  source: string;
  /** Where in the source: `/etc/fleet/a.yaml records[2]`, `page 3 clusters[0]`. */
  location: string;
  /** The record's cluster id when it could be read, so callers can keep that cluster's last record. */
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

const maxLabelLength = 256;

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
  if (!isObject(value)) return { ok: false, problem: `expected an object {cluster_id, display_name, nodes}, got ${typeName(value)}` };
  const clusterIdRaw = value.cluster_id;
  const readableId = typeof clusterIdRaw === 'string' && clusterIdRaw.length <= 128 ? clusterIdRaw : undefined;
  const fail = (problem: string): RecordOutcome => (readableId === undefined ? { ok: false, problem } : { ok: false, problem, clusterId: readableId });

  const idProblem = clusterIdProblem(clusterIdRaw);
  if (idProblem) return fail(idProblem);
  const clusterId = clusterIdRaw as string;

  const displayName = value.display_name ?? null;
  if (displayName !== null && (typeof displayName !== 'string' || displayName.length > maxLabelLength)) {
    return fail(`display_name must be a string of at most ${maxLabelLength} characters or null`);
  }
  if (!Array.isArray(value.nodes)) return fail(`nodes must be a list of agent URLs or node objects, got ${typeName(value.nodes)}`);

  const nodes: DiscoveryNode[] = [];
  const seen = new Set<string>();
  for (const [index, rawNode] of (value.nodes as unknown[]).entries()) {
    const node = validateNode(rawNode);
    if (typeof node === 'string') return fail(`nodes[${index}]: ${node}`);
    if (seen.has(node.agent_address)) return fail(`nodes[${index}]: agent address ${JSON.stringify(node.agent_address)} listed twice`);
    seen.add(node.agent_address);
    nodes.push(node);
  }
  return { ok: true, record: { cluster_id: clusterId, display_name: displayName, nodes } };
}

/** A node URL string or a node object; returns the normalized node or a problem. */
function validateNode(raw: unknown): DiscoveryNode | string {
  if (typeof raw === 'string') {
    const problem = agentAddressProblem(raw);
    return problem ?? { agent_address: normalizeAgentAddress(raw) };
  }
  if (!isObject(raw)) return `expected an agent URL or a node object, got ${typeName(raw)}`;
  const addressProblem = agentAddressProblem(raw.agent_address);
  if (addressProblem) return `agent_address: ${addressProblem}`;
  const node: DiscoveryNode = { agent_address: normalizeAgentAddress(raw.agent_address as string) };
  if (raw.node_id !== undefined && raw.node_id !== null) {
    const problem = nodeIdProblem(raw.node_id);
    if (problem) return problem;
    node.node_id = raw.node_id as string;
  }
  for (const field of ['node_class', 'node_group'] as const) {
    const label = raw[field];
    if (label === undefined || label === null) continue;
    if (typeof label !== 'string' || label.length === 0 || label.length > maxLabelLength || hasControlCharacter(label)) {
      return `${field} must be a non-empty string of at most ${maxLabelLength} printable characters`;
    }
    node[field] = label;
  }
  return node;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 0x20 || text.charCodeAt(i) === 0x7f) return true;
  return false;
}

function describeCluster(clusterId: string | undefined): string {
  return clusterId === undefined ? '' : ` (cluster_id ${JSON.stringify(clusterId)})`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : typeof value;
}
