import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { StoredDiscovery } from '../adapters/discovery-store.js';
import type { ClusterSummary } from '../adapters/mongo-store.js';
import type { ClusterView, ViewNode } from '../domain/cluster-view.js';
import { clusterIdProblem, clusterWorkflowId } from '../domain/ids.js';
import type { Offset, ShardRole } from '../domain/observation.js';
import { defaultViewPageLimit, maxViewPageLimit, viewPage, viewPageProblem, type ViewPageInfo, type ViewPageRequest } from '../domain/view-page.js';
import { refreshNowUpdate, refreshSignal, viewQuery, type RefreshReport, type ViewQueryResult } from '../workflows/messages.js';
import { countOption, parseCommand, secondsOption } from './args.js';
import type { CommandContext } from './context.js';
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

export const refreshUsage = `usage: fleetview refresh CLUSTER [--wait] [--timeout SECONDS] [--json]

Asks the cluster's workflow to refresh now (the refresh signal). With --wait, sends the
refreshNow update instead and prints the report of the refresh it caused, waiting up to
--timeout seconds (default 60). Exit 3 when the cluster has no running workflow.

example: fleetview refresh rs0 --wait`;

function checkClusterId(command: string, id: string): void {
  const problem = clusterIdProblem(id);
  if (problem) throw usageError(`fleetview ${command}: ${problem}`);
}

export async function clustersCommand(argv: string[], context: CommandContext): Promise<void> {
  const parsed = parseCommand(argv, { command: 'clusters', usage: clustersUsage, options: { json: { type: 'boolean' } }, positionals: [0, 0] }, context.out);
  if (!parsed) return;
  const records = await (await context.services.discoveryStore()).listClusters();
  const stored = await (await context.services.clusterStore()).listClusters();
  const byId = new Map<string, { record: StoredDiscovery | null; summary: ClusterSummary | null }>();
  for (const record of records) byId.set(record.cluster_id, { record, summary: null });
  for (const cluster of stored) byId.set(cluster.cluster_id, { record: byId.get(cluster.cluster_id)?.record ?? null, summary: cluster.summary });
  const clusters = [...byId.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  if (parsed.values.json) {
    context.out(JSON.stringify(clusters.map(([cluster_id, { record, summary }]) => ({ cluster_id, status: statusOf(record, summary), discovery: record, summary })), null, 2));
    return;
  }
  if (clusters.length === 0) {
    context.out('no clusters yet: apply a discovery (fleetview discovery apply -f FILE) and run fleetview start');
    return;
  }
  context.out(
    table(
      ['CLUSTER', 'STATUS', 'NODES', 'AGENTS DOWN', 'NODES DOWN', 'LAST REFRESH', 'DISCOVERY'],
      clusters.map(([id, { record, summary }]) => [
        id,
        statusOf(record, summary),
        String(summary?.nodes ?? record?.record.nodes.length ?? '-'),
        summary ? String(summary.agents_down) : '-',
        summary ? String(summary.nodes_down) : '-',
        summary ? relativeTime(summary.refreshed_at) : 'never',
        record?.discovery ?? '-',
      ]),
    ),
  );
}

function statusOf(record: StoredDiscovery | null, summary: ClusterSummary | null): string {
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
  const parsed = parseCommand(
    argv,
    {
      command: 'view',
      usage: viewUsage,
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
  checkClusterId('view', clusterId);
  const timeoutS = secondsOption('view', 'timeout', parsed.values.timeout, 3);
  const request: ViewPageRequest = {};
  if (parsed.values.node !== undefined) request.node = parsed.values.node;
  if (parsed.values.shard !== undefined) request.shard = parsed.values.shard;
  if (parsed.values.offset !== undefined) request.offset = countOption('view', 'offset', parsed.values.offset, 0);
  if (parsed.values.limit !== undefined) request.limit = countOption('view', 'limit', parsed.values.limit, defaultViewPageLimit);
  const problem = viewPageProblem(request);
  if (problem) throw usageError(`fleetview view: ${problem.replace(/^(node|shard|offset|limit)\b/, '--$1')}\n\n${viewUsage}`);
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
  if (queried?.view) {
    if (parsed.values.json) context.out(JSON.stringify({ source: 'workflow', ...queried }, null, 2));
    else {
      const report = queried.last_report;
      const detail = report ? `; last refresh took ${report.duration_ms} ms, ${report.events_emitted} events` : '';
      context.out(renderView(queried.view, `workflow ${workflowId} (${queried.phase}${detail})`, queried.page ?? viewPage(queried.view).page));
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
  if (parsed.values.json) {
    context.out(JSON.stringify({ source: 'mongodb', view, page: paged?.page ?? null, record: record?.record ?? queried?.record ?? null, discovery: record }, null, 2));
    return;
  }
  if (!view) {
    context.out(`cluster  ${clusterId}\nstatus   not refreshed yet${record ? `; listed by discovery ${record.discovery} with ${record.record.nodes.length} nodes` : ''}`);
    return;
  }
  const retired = record?.retired_at ? `; retired at ${record.retired_at}` : '';
  context.out(renderView(view, `MongoDB (stored at generation ${view.generation}${retired})`, paged!.page));
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
    { command: 'refresh', usage: refreshUsage, options: { wait: { type: 'boolean' }, timeout: { type: 'string' }, json: { type: 'boolean' } }, positionals: [1, 1] },
    context.out,
  );
  if (!parsed) return;
  const clusterId = parsed.positionals[0]!;
  checkClusterId('refresh', clusterId);
  const timeoutS = secondsOption('refresh', 'timeout', parsed.values.timeout, 60);
  const workflowId = clusterWorkflowId(clusterId);
  const client = await context.services.temporal();
  const handle = client.workflow.getHandle(workflowId);
  const missing = async () => {
    const record = await (await context.services.discoveryStore()).getCluster(clusterId).catch(() => null);
    const why = record?.retired_at ? `it was retired at ${record.retired_at}` : 'fleetview clusters lists the known ones';
    return notFound(`no running workflow for cluster ${JSON.stringify(clusterId)} (${workflowId}): ${why}`);
  };
  try {
    if (!parsed.values.wait) {
      await handle.signal(refreshSignal);
      context.out(`refresh requested for ${clusterId} (${workflowId}); fleetview view ${clusterId} shows the result`);
      return;
    }
    context.note(`waiting for a refresh of ${clusterId} (${workflowId})...`);
    const report = await waitWithProgress(handle.executeUpdate(refreshNowUpdate), { what: `the refresh of ${clusterId}`, timeoutS, note: context.note });
    printReport(clusterId, report, context, parsed.values.json === true);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw await missing();
    if (err instanceof WaitTimeout) throw failure(`no refresh of ${clusterId} within ${timeoutS} s: is a worker polling task queue ${context.config.temporal.taskQueue}?`);
    if (err instanceof WorkflowUpdateFailedError) throw failure(`the refresh of ${clusterId} failed: ${err.cause?.message ?? err.message}`);
    // A completed (retired) workflow rejects new messages with a "workflow execution already completed" error.
    if (/already completed/i.test((err as Error).message)) throw await missing();
    throw err;
  }
}
