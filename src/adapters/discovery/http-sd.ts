/**
 * The `http_sd` discovery source: Prometheus' HTTP service discovery format, a list of target
 * groups `{targets: ["host:port"], labels: {...}}`. A label names the cluster; groups naming
 * the same cluster add up. Each target's agent address is the group's address label when set
 * (for agents that share a host:port and differ by path, like the sim's), else
 * `<scheme>://<target>` with the group's `__scheme__` label or the configured scheme.
 */
import { createJsonHttpClient } from '../http-json-client.js';
import type { TlsOptions } from '../http-json-client.js';
import { DiscoverySourceError } from './errors.js';
import { displayUrl } from './redact.js';
import { typeName, validateRecords } from './records.js';
import type { DiscoveryProblem, DiscoveryResult, RawRecord } from './records.js';
import type { DiscoverySource } from './source.js';

export interface HttpSdSourceOptions {
  url: string;
  headers?: Record<string, string> | undefined;
  /** Label holding the cluster id (default `cluster_id`). */
  clusterLabel?: string | undefined;
  /** Label holding a target's agent base URL (default `__meta_agent_address`); only on groups of one target. */
  addressLabel?: string | undefined;
  /** Label holding the cluster's display name (default `__meta_cluster_display_name`). */
  displayNameLabel?: string | undefined;
  /** Scheme of `<scheme>://<target>` when the group has no `__scheme__` label (default http). */
  scheme?: 'http' | 'https' | undefined;
  /** Per-request timeout in ms (default 10000). */
  timeoutMs?: number | undefined;
  /** Largest answer accepted, in bytes (default 16 MiB). */
  maxResponseBytes?: number | undefined;
  tls?: TlsOptions | undefined;
}

export const httpSdDefaults = {
  clusterLabel: 'cluster_id',
  addressLabel: '__meta_agent_address',
  displayNameLabel: '__meta_cluster_display_name',
  scheme: 'http',
  timeoutMs: 10_000,
  maxResponseBytes: 16 * 1024 * 1024,
} as const;

const hostPort = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

export function createHttpSdSource(name: string, options: HttpSdSourceOptions): DiscoverySource {
  const clusterLabel = options.clusterLabel ?? httpSdDefaults.clusterLabel;
  const addressLabel = options.addressLabel ?? httpSdDefaults.addressLabel;
  const displayNameLabel = options.displayNameLabel ?? httpSdDefaults.displayNameLabel;
  const http = createJsonHttpClient({
    timeoutMs: options.timeoutMs ?? httpSdDefaults.timeoutMs,
    maxResponseBytes: options.maxResponseBytes ?? httpSdDefaults.maxResponseBytes,
    headers: options.headers,
    tls: options.tls,
    userAgent: 'fleetview-discovery',
  });

  async function discover(): Promise<DiscoveryResult> {
    const outcome = await http.request(options.url);
    if (!outcome.ok) throw new DiscoverySourceError(name, `GET ${displayUrl(options.url)}: ${outcome.reason}`);
    if (!Array.isArray(outcome.body)) {
      throw new DiscoverySourceError(name, `GET ${displayUrl(options.url)}: expected a list of target groups, got ${typeName(outcome.body)}`);
    }
    const clusters = new Map<string, { groups: number[]; display_name: string | null; nodes: string[] }>();
    const groupErrors: DiscoveryProblem[] = [];
    const skip = (index: number, problem: string, clusterId?: string): void => {
      const error: DiscoveryProblem = { source: name, location: `groups[${index}]`, message: `discovery ${JSON.stringify(name)}: target group groups[${index}] skipped: ${problem}` };
      if (clusterId !== undefined) error.cluster_id = clusterId;
      groupErrors.push(error);
    };
    for (const [index, group] of (outcome.body as unknown[]).entries()) {
      if (typeof group !== 'object' || group === null || Array.isArray(group)) {
        skip(index, `expected {targets, labels}, got ${typeName(group)}`);
        continue;
      }
      const { targets, labels = {} } = group as { targets?: unknown; labels?: unknown };
      if (!Array.isArray(targets) || !targets.every((t) => typeof t === 'string')) {
        skip(index, 'targets must be a list of "host:port" strings');
        continue;
      }
      if (typeof labels !== 'object' || labels === null || !Object.values(labels).every((v) => typeof v === 'string')) {
        skip(index, 'labels must be an object of strings');
        continue;
      }
      const labelOf = (label: string): string | undefined => (labels as Record<string, string>)[label];
      const clusterId = labelOf(clusterLabel);
      if (!clusterId) {
        skip(index, `no ${JSON.stringify(clusterLabel)} label naming the cluster`);
        continue;
      }
      const nodes = addressesOf(targets, labelOf(addressLabel), labelOf('__scheme__') ?? options.scheme ?? httpSdDefaults.scheme);
      if (typeof nodes === 'string') {
        skip(index, nodes, clusterId);
        continue;
      }
      let cluster = clusters.get(clusterId);
      if (!cluster) {
        cluster = { groups: [], display_name: null, nodes: [] };
        clusters.set(clusterId, cluster);
      }
      cluster.groups.push(index);
      cluster.display_name ??= labelOf(displayNameLabel) || null;
      // The same target in two groups is one node, as Prometheus would scrape it once.
      for (const node of nodes) if (!cluster.nodes.includes(node)) cluster.nodes.push(node);
    }
    const raw: RawRecord[] = [...clusters.entries()].map(([clusterId, cluster]) => ({
      location: `groups[${cluster.groups.join(',')}]`,
      value: { cluster_id: clusterId, display_name: cluster.display_name, nodes: cluster.nodes },
    }));
    const result = validateRecords(name, raw);
    return { records: result.records, errors: [...groupErrors, ...result.errors] };
  }

  return { name, backend: 'http_sd', discover, close: () => http.close() };
}

/** Agent addresses of a group's targets, or a problem. */
function addressesOf(targets: string[], addressLabel: string | undefined, scheme: string): string[] | string {
  if (addressLabel !== undefined) {
    if (targets.length !== 1) return `the address label applies to one target, the group has ${targets.length}`;
    return [addressLabel];
  }
  const bad = targets.find((target) => !hostPort.test(target));
  if (bad !== undefined) return `target ${JSON.stringify(bad)} is not host:port`;
  return targets.map((target) => `${scheme}://${target}`);
}
