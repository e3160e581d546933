/**
 * Validation of what operators and discovery send the cluster refresh workflow. Workflow-safe:
 * hand-written checks (no schema library in the sandbox), errors that name the field and value.
 */
import { canonicalDiscoveryRecord, type DiscoveryNode, type DiscoveryRecord } from '../domain/discovery-record.js';
import { agentAddressProblem, clusterIdProblem, nodeIdProblem, normalizeAgentAddress } from '../domain/ids.js';
import { clusterRefreshDefaults, type ClusterRefreshInput, type ClusterRefreshSettings } from './messages.js';

export class InvalidInputError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'InvalidInputError';
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalText(value: unknown, field: string, problems: string[]): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > 256) {
    problems.push(`${field} must be a string of at most 256 characters`);
    return undefined;
  }
  return value;
}

function parseNode(raw: unknown, index: number, problems: string[]): DiscoveryNode | null {
  const where = `nodes[${index}]`;
  const fields: Record<string, unknown> = typeof raw === 'string' ? { agent_address: raw } : isObject(raw) ? raw : {};
  if (typeof raw !== 'string' && !isObject(raw)) {
    problems.push(`${where}: must be an agent URL or an object with agent_address`);
    return null;
  }
  const addressProblem = agentAddressProblem(fields.agent_address);
  if (addressProblem) {
    problems.push(`${where}: ${addressProblem}`);
    return null;
  }
  const node: DiscoveryNode = { agent_address: normalizeAgentAddress(fields.agent_address as string) };
  if (fields.node_id !== undefined && fields.node_id !== null) {
    const idProblem = nodeIdProblem(fields.node_id);
    if (idProblem) problems.push(`${where}: ${idProblem}`);
    else node.node_id = fields.node_id as string;
  }
  const nodeClass = optionalText(fields.node_class, `${where}.node_class`, problems);
  if (nodeClass !== undefined) node.node_class = nodeClass;
  const nodeGroup = optionalText(fields.node_group, `${where}.node_group`, problems);
  if (nodeGroup !== undefined) node.node_group = nodeGroup;
  return node;
}

/** The discovery record in canonical form, or InvalidInputError naming every problem. */
export function parseDiscoveryRecord(raw: unknown): DiscoveryRecord {
  if (!isObject(raw)) throw new InvalidInputError(['the input must be a JSON object with cluster_id and nodes']);
  const problems: string[] = [];
  const idProblem = clusterIdProblem(raw.cluster_id);
  if (idProblem) problems.push(idProblem);
  const displayName = optionalText(raw.display_name, 'display_name', problems) ?? null;
  const nodes: DiscoveryNode[] = [];
  if (!Array.isArray(raw.nodes)) {
    problems.push('nodes must be a list of agent URLs or node objects');
  } else if (raw.nodes.length > 10_000) {
    problems.push(`nodes lists ${raw.nodes.length} nodes; at most 10000 are supported`);
  } else {
    raw.nodes.forEach((node, index) => {
      const parsed = parseNode(node, index, problems);
      if (parsed) nodes.push(parsed);
    });
  }
  if (problems.length > 0) throw new InvalidInputError(problems);
  return canonicalDiscoveryRecord({ cluster_id: raw.cluster_id as string, display_name: displayName, nodes });
}

const settingBounds: Record<keyof ClusterRefreshSettings, [number, number, boolean]> = {
  refresh_interval_s: [1, 86_400, false],
  agent_timeout_ms: [100, 600_000, true],
  node_retire_grace_s: [0, 30 * 86_400, false],
  max_refreshes_per_run: [1, 100_000, false],
  store_touch_s: [1, 86_400, false],
};

export function parseSettings(raw: Partial<Record<keyof ClusterRefreshSettings, unknown>>): ClusterRefreshSettings {
  const problems: string[] = [];
  const settings: ClusterRefreshSettings = { ...clusterRefreshDefaults };
  for (const [key, [min, max, nullable]] of Object.entries(settingBounds) as Array<[keyof ClusterRefreshSettings, [number, number, boolean]]>) {
    const value = raw[key];
    if (value === undefined || (nullable && value === null)) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
      continue;
    }
    settings[key] = value;
  }
  if (problems.length > 0) throw new InvalidInputError(problems);
  return settings;
}

export function parseClusterRefreshInput(raw: ClusterRefreshInput): { record: DiscoveryRecord; settings: ClusterRefreshSettings } {
  const problems: string[] = [];
  let record: DiscoveryRecord | undefined;
  let settings: ClusterRefreshSettings | undefined;
  try {
    record = parseDiscoveryRecord(raw);
  } catch (err) {
    problems.push(...(err instanceof InvalidInputError ? err.problems : [String(err)]));
  }
  try {
    settings = parseSettings(isObject(raw) ? raw : {});
  } catch (err) {
    problems.push(...(err instanceof InvalidInputError ? err.problems : [String(err)]));
  }
  if (!record || !settings) throw new InvalidInputError(problems);
  return { record, settings };
}
