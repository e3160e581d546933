import { compareStrings } from './canonical-forms.js';
import { normalizeAgentAddress } from './ids.js';

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
