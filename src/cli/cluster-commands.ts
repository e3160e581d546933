import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { createControlStore, type StoredControls } from '../adapters/control-store.js';
import type { DiscoveredCluster } from '../adapters/discovery-store/index.js';
import type { ClusterSummary } from '../adapters/cluster-store.js';
import type { Config } from '../config.js';
import { effectiveSettings, noControls, windowActive, type SettingLayers } from '../domain/cluster-controls.js';
import type { ClusterView, ViewNode } from '../domain/cluster-view.js';
import { clusterIdProblem, clusterWorkflowId } from '../domain/ids.js';
import type { Offset, ShardRole } from '../domain/observation.js';
import { defaultViewPageLimit, maxViewPageLimit, viewPage, viewPageProblem, type ViewPageInfo, type ViewPageRequest } from '../domain/view-page.js';
import { refreshBySignal, refreshNowByUpdate, viewQuery, type ActorInput, type ControlsState, type RefreshReport, type ViewQueryResult } from '../workflows/messages.js';
import { actorName, actorOf, actorOptionHelp } from './actor.js';
import { countOption, parseCommand, secondsOption } from './args.js';
import type { CommandContext } from './context.js';
import { renderControls, windowCell } from './controls-format.js';
import { CliError, failure, notFound, usageError } from './errors.js';
import { clip, relativeTime, table } from './format.js';
import { WaitTimeout, waitWithProgress } from './progress.js';

export const clustersUsage = `usage: fleetview clusters [--json]

Every known cluster (from MongoDB): its status, nodes, nodes and agents down, last refresh,
and the discovery that lists it. STATUS is HEALTHY, DEGRADED or UNAVAILABLE once refreshed,
NEW before its first refresh, RETIRED when no discovery lists it any more; "unlisted" marks a
cluster inside its grace period.

example: fleetview clusters`;

export const viewUsage = `usage: fleetview view CLUSTER [--node NODE] [--shard SHARD] [--limit N] [--offset N] [--json] [--timeout SECONDS]

The cluster's view, from its workflow (the view query), or from MongoDB when no worker answers
within the timeout (default 3 s). Exit 3 when the cluster is unknown. The summary comes whole;
nodes and shards a page at a time (--limit, default ${defaultViewPageLimit}, at most ${maxViewPageLimit}; --offset skips), or
only the node with that address or node id (--node), or only that shard (--shard).

examples: fleetview view rs0
          fleetview view kafka-big --shard topic-7
          fleetview view kafka-big --limit 100 --offset 100`;

export const clusterListUsage = `usage: fleetview cluster list [--json]

Every known cluster, as fleetview clusters lists it, with two more columns from the operators'
controls (MongoDB, cluster_controls): PAUSED (until when, or "yes" until resumed) and
MAINTENANCE (until when). Windows that have ended show "-".

example: fleetview cluster list`;

export const clusterShowUsage = `usage: fleetview cluster show CLUSTER [--node NODE] [--shard SHARD] [--limit N] [--offset N] [--json] [--timeout SECONDS]

The cluster's view as fleetview view prints it, after its controls: whether it is paused or in
maintenance (until when, by whom, why), and each setting in effect (interval, agent-timeout,
node-grace, cluster-grace) with where it came from: operator (fleetview cluster set), discovery
(the discovery's record), or default (the worker's configuration, or the last fleetview settings
apply). From its workflow; when no worker answers within the timeout (default 3 s), from
MongoDB: then the defaults are this CLI's configuration, and the workflow's may differ.

examples: fleetview cluster show rs0
          fleetview cluster show rs0 --json`;

export const refreshUsage = `usage: fleetview refresh CLUSTER [--wait] [--timeout SECONDS] [--json] [--actor NAME]

Asks the cluster's workflow to refresh now (the refresh signal). With --wait, sends the
refreshNow update instead and prints the report of the refresh it caused, waiting up to
--timeout seconds (default 60). Exit 3 when the cluster has no running workflow.
  ${actorOptionHelp}

example: fleetview refresh rs0 --wait`;

export function checkClusterId(command: string, id: string): void {
  const problem = clusterIdProblem(id);
  if (problem) throw usageError(`fleetview ${command}: ${problem}`);
}

/** Exit 3 for a cluster with no running workflow, saying why when the store knows (retired). */
export async function missingCluster(context: CommandContext, clusterId: string): Promise<CliError> {
  const record = await (await context.services.discoveryStore()).getCluster(clusterId).catch(() => null);
  const why = record?.retired_at ? `it was retired at ${record.retired_at}` : 'fleetview clusters lists the known ones';
  return notFound(`no running workflow for cluster ${JSON.stringify(clusterId)} (${clusterWorkflowId(clusterId)}): ${why}`);
}

export async function clustersCommand(argv: string[], context: CommandContext): Promise<void> {
  await listClusters(argv, context, { command: 'clusters', usage: clustersUsage, withControls: false });
}

/** `cluster list`: the clusters table with the pause and maintenance columns. */
export async function clusterListCommand(argv: string[], context: CommandContext): Promise<void> {
  await listClusters(argv, context, { command: 'cluster list', usage: clusterListUsage, withControls: true });
}

async function listClusters(argv: string[], context: CommandContext, spec: { command: string; usage: string; withControls: boolean }): Promise<void> {
  const parsed = parseCommand(argv, { command: spec.command, usage: spec.usage, options: { json: { type: 'boolean' } }, positionals: [0, 0] }, context.out);
  if (!parsed) return;
  const records = await (await context.services.discoveryStore()).listClusters();
  const store = await context.services.clusterStore();
  const stored = await store.listClusters();
  // Only clusters with a pause or a window are read: a quiet fleet costs one small query.
  const windows = new Map<string, StoredControls>();
  if (spec.withControls) for (const controls of await createControlStore(store.db).listWindows()) windows.set(controls.cluster_id, controls);
  const byId = new Map<string, { record: DiscoveredCluster | null; summary: ClusterSummary | null }>();
  for (const record of records) byId.set(record.cluster_id, { record, summary: null });
  for (const cluster of stored) byId.set(cluster.cluster_id, { record: byId.get(cluster.cluster_id)?.record ?? null, summary: cluster.summary });
  const clusters = [...byId.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  const now = Date.now();
  const active = (id: string, which: 'pause' | 'maintenance') => {
    const window = windows.get(id)?.[which] ?? null;
    return windowActive(window, now) ? window : null;
  };
  if (parsed.values.json) {
    context.out(
      JSON.stringify(
        clusters.map(([cluster_id, { record, summary }]) => ({
          cluster_id,
          status: statusOf(record, summary),
          discovery: record,
          summary,
          ...(spec.withControls ? { paused: active(cluster_id, 'pause'), maintenance: active(cluster_id, 'maintenance') } : {}),
        })),
        null,
        2,
      ),
    );
    return;
  }
  if (clusters.length === 0) {
    context.out('no clusters yet: apply a discovery (fleetview discovery apply -f FILE) and run fleetview start');
    return;
  }
  const controlHeader = spec.withControls ? ['PAUSED', 'MAINTENANCE'] : [];
  context.out(
    table(
      ['CLUSTER', 'STATUS', 'NODES', 'AGENTS DOWN', 'NODES DOWN', 'LAST REFRESH', ...controlHeader, 'DISCOVERY'],
      clusters.map(([id, { record, summary }]) => [
        id,
        statusOf(record, summary),
        String(summary?.nodes ?? record?.record.nodes.length ?? '-'),
        summary ? String(summary.agents_down) : '-',
        summary ? String(summary.nodes_down) : '-',
        summary ? relativeTime(summary.refreshed_at) : 'never',
        ...(spec.withControls ? [windowCell(active(id, 'pause'), now), windowCell(active(id, 'maintenance'), now)] : []),
        record?.discovery ?? '-',
      ]),
    ),
  );
}

function statusOf(record: DiscoveredCluster | null, summary: ClusterSummary | null): string {
  if (record?.retired_at) return 'RETIRED';
  const status = summary?.status ?? 'NEW';
  return record?.missing_since ? `${status} (unlisted)` : status;
}

function roleText(role: ShardRole): string {
  return typeof role === 'string' ? role : role.unknown;
}

function lagText(lags: Offset[]): string {
  return lags.length === 0 ? '-' : lags.map((lag) => `${lag.value} ${typeof lag.unit === 'string' ? lag.unit : lag.unit.unit}`).join(', ');
}

function nodeStatusText(node: ViewNode): string {
  return node.left_discovery_at ? `${node.status.code} (leaving since ${node.left_discovery_at})` : node.status.code;
}

function pageText(what: string, shown: number, total: number, page: ViewPageInfo): string {
  if (shown === total) return '';
  const range = shown === 0 ? 'none' : `${page.offset + 1}-${page.offset + shown}`;
  return `${what}: showing ${range} of ${total}${page.truncated ? ' (cut to keep the answer small)' : ''}; --offset and --limit for others`;
}

function renderView(view: ClusterView, source: string, page: ViewPageInfo): string {
  const lines = [
    `cluster  ${view.cluster_id}${view.display_name ? ` (${view.display_name})` : ''}`,
    `status   ${view.status}, generation ${view.generation}, refreshed ${relativeTime(view.refreshed_at)} (${view.refreshed_at})`,
    `nodes    ${view.nodes} listed, ${view.agents_down} agents down, ${view.nodes_down} nodes down; kinds ${view.kinds.join(', ') || '-'}`,
    `shards   ${view.shards_count}, ${view.shards_primaries} with one primary`,
    `source   ${source}`,
    '',
    table(
      ['NODE', 'STATUS', 'KIND', 'VERSION', 'AGENT', 'SHARDS', 'ADDRESS', 'LAST ERROR'],
      view.members.map((node) => [
        node.node_id ?? '-',
        nodeStatusText(node),
        node.datastore?.kind ?? '-',
        node.datastore?.version ?? '-',
        node.agent?.version.number ?? '-',
        node.shards === null ? '-' : String(node.shards.filter((shard) => roleText(shard.role) === 'primary').length) + ` primary / ${node.shards.length}`,
        node.address,
        node.last_error ? clip(`${node.last_error.message} (${relativeTime(node.last_error.at)})`, 80) : '-',
      ]),
    ),
  ];
  const membersNote = pageText('nodes', view.members.length, page.members_total, page);
  if (membersNote) lines.push(membersNote);
  if (view.shards.length > 0) {
    lines.push(
      '',
      table(
        ['SHARD', 'PRIMARY', 'ALLOCATIONS', 'MAX LAG'],
        view.shards.map((shard) => [
          shard.id,
          shard.primary ? (shard.primary.node_id ?? shard.primary.address) : shard.primaries.length > 1 ? `CONFLICT: ${shard.primaries.length} primaries` : 'NONE',
          String(shard.allocations),
          lagText(shard.max_lag),
        ]),
      ),
    );
  }
  const shardsNote = pageText('shards', view.shards.length, page.shards_total, page);
  if (shardsNote) lines.push(shardsNote);
  return lines.join('\n');
}

export async function viewCommand(argv: string[], context: CommandContext): Promise<void> {
  await showCluster(argv, context, { command: 'view', usage: viewUsage, withControls: false });
}

/** `cluster show`: the view with the controls first. */
export async function clusterShowCommand(argv: string[], context: CommandContext): Promise<void> {
  await showCluster(argv, context, { command: 'cluster show', usage: clusterShowUsage, withControls: true });
}

/**
 * The controls as the store holds them, for when no workflow answers: the operator's layer and
 * windows from cluster_controls, the discovery's layer from the record, and the defaults as the
 * discovery would start the workflow with them (this CLI's configuration, the record's grace).
 */
export async function storedControlsState(context: CommandContext, clusterId: string, record: DiscoveredCluster | null): Promise<ControlsState> {
  const controls = (await createControlStore((await context.services.clusterStore()).db).load(clusterId)) ?? noControls;
  const layers: SettingLayers = {
    default: { ...configDefaults(context.config), ...(record ? { node_retire_grace_s: record.grace_s, cluster_retire_grace_s: record.grace_s } : {}) },
    discovery: { ...(record?.record.settings ?? {}) },
    operator: controls.operator,
  };
  return { cluster_id: clusterId, settings: effectiveSettings(layers), layers, pause: controls.pause, maintenance: controls.maintenance, revision: controls.revision };
}

/** The per-cluster defaults this process's configuration holds: what `settings apply` sends. */
export function configDefaults(config: Config): { refresh_interval_s: number; agent_timeout_ms: number } {
  return { refresh_interval_s: config.refresh.intervalS, agent_timeout_ms: config.agent.timeoutMs };
}

async function showCluster(argv: string[], context: CommandContext, spec: { command: string; usage: string; withControls: boolean }): Promise<void> {
  const { command, usage } = spec;
  const parsed = parseCommand(
    argv,
    {
      command,
      usage,
      options: {
        json: { type: 'boolean' },
        timeout: { type: 'string' },
        node: { type: 'string' },
        shard: { type: 'string' },
        limit: { type: 'string' },
        offset: { type: 'string' },
      },
      positionals: [1, 1],
    },
    context.out,
  );
  if (!parsed) return;
  const clusterId = parsed.positionals[0]!;
  checkClusterId(command, clusterId);
  const timeoutS = secondsOption(command, 'timeout', parsed.values.timeout, 3);
  const request: ViewPageRequest = {};
  if (parsed.values.node !== undefined) request.node = parsed.values.node;
  if (parsed.values.shard !== undefined) request.shard = parsed.values.shard;
  if (parsed.values.offset !== undefined) request.offset = countOption(command, 'offset', parsed.values.offset, 0);
  if (parsed.values.limit !== undefined) request.limit = countOption(command, 'limit', parsed.values.limit, defaultViewPageLimit);
  const problem = viewPageProblem(request);
  if (problem) throw usageError(`fleetview ${command}: ${problem.replace(/^(node|shard|offset|limit)\b/, '--$1')}\n\n${usage}`);
  const workflowId = clusterWorkflowId(clusterId);

  let queried: ViewQueryResult | null = null;
  let workflowExists = true;
  try {
    const client = await context.services.temporal();
    queried = await client.withDeadline(Date.now() + timeoutS * 1000, () => client.workflow.getHandle(workflowId).query(viewQuery, request));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) workflowExists = false;
    else {
      const reason = err instanceof CliError ? err.message.split('\n')[0] : clip((err as Error).message, 160);
      context.note(`note: no answer to the view query of ${workflowId} within ${timeoutS} s (${reason}); showing what MongoDB holds`);
    }
  }
  if (queried && (queried.view || (spec.withControls && queried.controls))) {
    // A worker of a version before the controls answers without them: the store has them.
    let controls: ControlsState | null = null;
    let controlsSource = `workflow ${workflowId}`;
    if (spec.withControls) {
      controls = queried.controls ?? null;
      if (!controls) {
        const record = await (await context.services.discoveryStore()).getCluster(clusterId);
        controls = await storedControlsState(context, clusterId, record);
        controlsSource = 'MongoDB (the workflow did not report its controls: defaults as this CLI is configured)';
      }
    }
    if (parsed.values.json) context.out(JSON.stringify({ source: 'workflow', ...queried, ...(controls ? { controls, controls_source: controlsSource } : {}) }, null, 2));
    else {
      const report = queried.last_report;
      const detail = report ? `; last refresh took ${report.duration_ms} ms, ${report.events_emitted} events` : '';
      const parts: string[] = [];
      if (controls) parts.push(renderControls(controls, controlsSource), '');
      if (queried.view) parts.push(renderView(queried.view, `workflow ${workflowId} (${queried.phase}${detail})`, queried.page ?? viewPage(queried.view).page));
      else parts.push(`cluster  ${clusterId}\nstatus   not refreshed yet (workflow ${workflowId}, ${queried.phase})`);
      context.out(parts.join('\n'));
    }
    return;
  }

  const storedView = await (await context.services.clusterStore()).loadView(clusterId);
  const paged = storedView ? viewPage(storedView, request) : null;
  const view = paged?.view ?? null;
  const record = await (await context.services.discoveryStore()).getCluster(clusterId);
  if (!view && !record && !workflowExists) {
    throw notFound(`unknown cluster ${JSON.stringify(clusterId)}: no workflow ${workflowId} and nothing stored (fleetview clusters lists the known ones)`);
  }
  const controls = spec.withControls ? await storedControlsState(context, clusterId, record) : null;
  const controlsSource = 'MongoDB (defaults as this CLI is configured; the workflow\'s may differ)';
  if (parsed.values.json) {
    context.out(
      JSON.stringify(
        { source: 'mongodb', view, page: paged?.page ?? null, record: record?.record ?? queried?.record ?? null, discovery: record, ...(controls ? { controls, controls_source: controlsSource } : {}) },
        null,
        2,
      ),
    );
    return;
  }
  const head = controls ? `${renderControls(controls, controlsSource)}\n\n` : '';
  if (!view) {
    context.out(`${head}cluster  ${clusterId}\nstatus   not refreshed yet${record ? `; listed by discovery ${record.discovery} with ${record.record.nodes.length} nodes` : ''}`);
    return;
  }
  const retired = record?.retired_at ? `; retired at ${record.retired_at}` : '';
  context.out(head + renderView(view, `MongoDB (stored at generation ${view.generation}${retired})`, paged!.page));
}

function printReport(clusterId: string, report: RefreshReport, context: CommandContext, json: boolean): void {
  if (json) {
    context.out(JSON.stringify(report, null, 2));
    return;
  }
  context.out(
    `refreshed ${clusterId}: generation ${report.generation}, ${report.status}, ${report.nodes_fetched} nodes fetched, ${report.nodes_down} down,` +
      ` ${report.events_emitted} events, ${report.duration_ms} ms (started ${report.started_at})`,
  );
}

export async function refreshCommand(argv: string[], context: CommandContext): Promise<void> {
  const parsed = parseCommand(
    argv,
    {
      command: 'refresh',
      usage: refreshUsage,
      options: { wait: { type: 'boolean' }, timeout: { type: 'string' }, json: { type: 'boolean' }, actor: { type: 'string' } },
      positionals: [1, 1],
    },
    context.out,
  );
  if (!parsed) return;
  const clusterId = parsed.positionals[0]!;
  checkClusterId('refresh', clusterId);
  const timeoutS = secondsOption('refresh', 'timeout', parsed.values.timeout, 60);
  const user = actorName('refresh', parsed.values.actor);
  const workflowId = clusterWorkflowId(clusterId);
  const client = await context.services.temporal();
  const handle = client.workflow.getHandle(workflowId);
  // The workflow's CLUSTER_REFRESH_REQUESTED event names who asked.
  const who: ActorInput = { actor: actorOf(user, client) };
  try {
    if (!parsed.values.wait) {
      await handle.signal(refreshBySignal, who);
      context.out(`refresh requested for ${clusterId} (${workflowId}); fleetview view ${clusterId} shows the result`);
      return;
    }
    context.note(`waiting for a refresh of ${clusterId} (${workflowId})...`);
    const report = await waitWithProgress(handle.executeUpdate(refreshNowByUpdate, { args: [who] }), { what: `the refresh of ${clusterId}`, timeoutS, note: context.note });
    printReport(clusterId, report, context, parsed.values.json === true);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw await missingCluster(context, clusterId);
    if (err instanceof WaitTimeout) throw failure(`no refresh of ${clusterId} within ${timeoutS} s: is a worker polling task queue ${context.config.temporal.taskQueue}?`);
    if (err instanceof WorkflowUpdateFailedError) throw failure(`the refresh of ${clusterId} failed: ${err.cause?.message ?? err.message}`);
    // A completed (retired) workflow rejects new messages with a "workflow execution already completed" error.
    if (/already completed/i.test((err as Error).message)) throw await missingCluster(context, clusterId);
    throw err;
  }
}
