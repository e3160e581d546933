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
