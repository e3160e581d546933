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

export interface DiscoveryRecord {
  cluster_id: string;
  display_name: string | null;
  nodes: DiscoveryNode[];
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
  return { cluster_id: record.cluster_id, display_name: record.display_name ?? null, nodes };
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
