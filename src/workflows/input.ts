/**
 * Validation of what operators and discovery send the cluster refresh workflow. Workflow-safe:
 * hand-written checks (no schema library in the sandbox), errors that name the field and value.
 */
import {
  canonicalDiscoveryRecord,
  displayNameProblem,
  recordSettingBounds,
  validateDiscoveryNode,
  validateRecordSettings,
  type DiscoveryNode,
  type DiscoveryRecord,
  type DiscoveryRecordSettings,
} from '../domain/discovery-record.js';
import { parseActorRequest } from '../domain/cluster-controls.js';
import { clusterIdProblem } from '../domain/ids.js';
import { describeType, oneLine, quoted } from '../domain/text.js';
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

/** The discovery record in canonical form, or InvalidInputError naming every problem. */
export function parseDiscoveryRecord(raw: unknown): DiscoveryRecord {
  if (!isObject(raw)) throw new InvalidInputError([`the input must be a JSON object with cluster_id and nodes, got ${describeType(raw)}`]);
  const problems: string[] = [];
  const idProblem = clusterIdProblem(raw.cluster_id);
  if (idProblem) problems.push(idProblem);
  const nameProblem = displayNameProblem(raw.display_name);
  if (nameProblem) problems.push(nameProblem);
  const nodes: DiscoveryNode[] = [];
  if (!Array.isArray(raw.nodes)) {
    problems.push(`nodes must be a list of agent URLs or node objects, got ${describeType(raw.nodes)}`);
  } else if (raw.nodes.length > 10_000) {
    problems.push(`nodes lists ${raw.nodes.length} nodes; at most 10000 are supported`);
  } else {
    raw.nodes.forEach((node, index) => {
      const parsed = validateDiscoveryNode(node);
      if (typeof parsed === 'string') problems.push(`nodes[${index}]: ${parsed}`);
      else nodes.push(parsed);
    });
  }
  let settings: DiscoveryRecordSettings | undefined;
  if (raw.settings !== undefined && raw.settings !== null) {
    const checked = validateRecordSettings(raw.settings);
    if (typeof checked === 'string') problems.push(checked);
    else settings = checked;
  }
  if (problems.length > 0) throw new InvalidInputError(problems);
  return canonicalDiscoveryRecord({ cluster_id: raw.cluster_id as string, display_name: (raw.display_name as string | null | undefined) ?? null, nodes, ...(settings ? { settings } : {}) });
}

const settingBounds: Record<keyof ClusterRefreshSettings, [number, number, boolean]> = {
  refresh_interval_s: [...recordSettingBounds.refresh_interval_s, false],
  agent_timeout_ms: [...recordSettingBounds.agent_timeout_ms, true],
  node_retire_grace_s: [0, 30 * 86_400, false],
  max_refreshes_per_run: [1, 100_000, false],
  store_touch_s: [1, 86_400, false],
  cluster_retire_grace_s: [0, 30 * 86_400, true],
};

export function parseSettings(raw: Partial<Record<keyof ClusterRefreshSettings, unknown>>): ClusterRefreshSettings {
  const problems: string[] = [];
  const settings: ClusterRefreshSettings = { ...clusterRefreshDefaults };
  for (const [key, [min, max, nullable]] of Object.entries(settingBounds) as Array<[keyof ClusterRefreshSettings, [number, number, boolean]]>) {
    const value = raw[key];
    if (value === undefined || (nullable && value === null)) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${key} must be an integer from ${min} to ${max}, got ${shortJson(value)}`);
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

/** A value as messages show it: JSON, escaped and cut (a 10 KB string stays a short message). */
function shortJson(value: unknown): string {
  if (typeof value === 'string') return quoted(value, 60);
  const json = JSON.stringify(value) as string | undefined;
  return json === undefined ? describeType(value) : oneLine(json, 60);
}

/**
 * What is wrong with the arguments of a `refreshNow` update, or null. It takes none, or one
 * `{actor}` naming who asks (a lone `null` or `{}` is read as none: some tools send one for "no
 * input"); anything else is a mistake the caller should hear about rather than a refresh that
 * ignored it.
 */
export function refreshNowArgumentsProblem(args: readonly unknown[]): string | null {
  if (args.length === 0) return null;
  const [only] = args;
  if (args.length === 1 && (only === null || (isObject(only) && Object.keys(only).length === 0))) return null;
  if (args.length === 1 && isObject(only) && Object.keys(only).every((key) => key === 'actor')) {
    try {
      parseActorRequest(only);
      return null;
    } catch (err) {
      return `refreshNow: ${(err as Error).message}`;
    }
  }
  return `refreshNow takes no arguments or {actor}, got ${args.length === 1 ? shortJson(only) : `${args.length}: ${args.map(shortJson).join(', ')}`}`;
}

/** The reason of a `retire` signal, as the workflow keeps it: one printable line of at most 200 characters. */
export function retireReason(request: unknown): string {
  const reason = isObject(request) ? request.reason : undefined;
  return typeof reason === 'string' && reason.trim() !== '' ? oneLine(reason, 200) : 'retired';
}
