import { compareStrings } from './canonical-forms.js';
import { agentAddressProblem, nodeIdProblem, normalizeAgentAddress } from './ids.js';
import { describeType, labelProblem } from './text.js';

/**
 * A discovery record: one cluster and its full expected membership, as discovery sources
 * produce it after validation. Sources accept node URL strings or node objects; the normalized
 * form always holds node objects.
 */
export interface DiscoveryNode {
  /** Base URL of the node's agent, trailing `/` trimmed. */
  agent_address: string;
  node_id?: string;
  node_class?: string;
  node_group?: string;
}

/**
 * Refresh settings a discovery may give one cluster (a 2,000-node cluster refreshed every 60 s
 * beside small ones at 15 s). They apply when the cluster's workflow starts.
 */
export interface DiscoveryRecordSettings {
  refresh_interval_s?: number;
  agent_timeout_ms?: number;
}

export interface DiscoveryRecord {
  cluster_id: string;
  display_name: string | null;
  nodes: DiscoveryNode[];
  /** Absent when the discovery sets none (the worker's defaults apply). */
  settings?: DiscoveryRecordSettings;
}

/** Bounds of the per-cluster settings: the same as the workflow's own input accepts. */
export const recordSettingBounds = {
  refresh_interval_s: [1, 86_400],
  agent_timeout_ms: [100, 600_000],
} as const satisfies Record<keyof DiscoveryRecordSettings, readonly [number, number]>;

/** The settings of a record from outside, in canonical key order, or a problem naming the field. */
export function validateRecordSettings(raw: unknown): DiscoveryRecordSettings | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return `settings must be an object {refresh_interval_s, agent_timeout_ms}, got ${describeType(raw)}`;
  const fields = raw as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((key) => !(key in recordSettingBounds));
  if (unknown.length > 0) return `settings.${unknown[0]} is not a setting (known: ${Object.keys(recordSettingBounds).join(', ')})`;
  const settings: DiscoveryRecordSettings = {};
  for (const [key, [min, max]] of Object.entries(recordSettingBounds) as Array<[keyof DiscoveryRecordSettings, readonly [number, number]]>) {
    const value = fields[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      return `settings.${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(value) ?? describeType(value)}`;
    }
    settings[key] = value;
  }
  return settings;
}

/**
 * The record in canonical form: addresses normalized, nodes sorted by address, a repeated
 * address keeping its first entry, a fixed key order. Two records describe the same cluster
 * membership exactly when their canonical forms serialize equally (node order is not meaning).
 */
export function canonicalDiscoveryRecord(record: DiscoveryRecord): DiscoveryRecord {
  const seen = new Set<string>();
  const nodes: DiscoveryNode[] = [];
  for (const node of record.nodes) {
    const agent_address = normalizeAgentAddress(node.agent_address);
    if (seen.has(agent_address)) continue;
    seen.add(agent_address);
    const canonical: DiscoveryNode = { agent_address };
    if (node.node_id !== undefined) canonical.node_id = node.node_id;
    if (node.node_class !== undefined) canonical.node_class = node.node_class;
    if (node.node_group !== undefined) canonical.node_group = node.node_group;
    nodes.push(canonical);
  }
  nodes.sort((a, b) => compareStrings(a.agent_address, b.agent_address));
  const canonical: DiscoveryRecord = { cluster_id: record.cluster_id, display_name: record.display_name ?? null, nodes };
  // Only when set: records without settings keep the form (and the events) they always had.
  const settings: DiscoveryRecordSettings = {};
  if (record.settings?.refresh_interval_s !== undefined) settings.refresh_interval_s = record.settings.refresh_interval_s;
  if (record.settings?.agent_timeout_ms !== undefined) settings.agent_timeout_ms = record.settings.agent_timeout_ms;
  if (Object.keys(settings).length > 0) canonical.settings = settings;
  return canonical;
}

/** Longest display name, node class or node group. */
export const maxLabelLength = 256;

/** What is wrong with a record's display name (a string of printable characters, or null), or null. */
export function displayNameProblem(value: unknown): string | null {
  return value === null || value === undefined ? null : labelProblem('display_name', value, maxLabelLength, true);
}

/**
 * One node of a record from outside (discovery, the workflow's input and `nodes` signal): an
 * agent URL or a node object, normalized; or a problem naming the field. Fields other than
 * the four known ones are dropped (they never reach the store).
 */
export function validateDiscoveryNode(raw: unknown): DiscoveryNode | string {
  if (typeof raw === 'string') return agentAddressProblem(raw) ?? { agent_address: normalizeAgentAddress(raw) };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return `expected an agent URL or a node object, got ${describeType(raw)}`;
  const fields = raw as Record<string, unknown>;
  const addressProblem = agentAddressProblem(fields.agent_address);
  if (addressProblem) return `agent_address: ${addressProblem}`;
  const node: DiscoveryNode = { agent_address: normalizeAgentAddress(fields.agent_address as string) };
  if (fields.node_id !== undefined && fields.node_id !== null) {
    const problem = nodeIdProblem(fields.node_id);
    if (problem) return problem;
    node.node_id = fields.node_id as string;
  }
  for (const field of ['node_class', 'node_group'] as const) {
    const label = fields[field];
    if (label === undefined || label === null) continue;
    const problem = labelProblem(field, label, maxLabelLength);
    if (problem) return problem;
    node[field] = label as string;
  }
  return node;
}
