/**
 * A bounded part of a cluster view: the summary fields whole, members and shards a page at a
 * time, optionally filtered to one node or one shard. The `view` query and `fleetview view`
 * answer with pages, so a cluster of thousands of nodes is never one huge answer.
 */
import type { ClusterView } from './cluster-view.js';

export interface ViewPageRequest {
  /** Only the member with this address or datastore node id (and the shards it holds). */
  node?: string;
  /** Only this shard id (in the shard summaries and in each member's shards). */
  shard?: string;
  /** Members and shard summaries skipped before the page. */
  offset?: number;
  /** Members and shard summaries in the page. */
  limit?: number;
}

export interface ViewPageInfo {
  members_total: number;
  shards_total: number;
  offset: number;
  limit: number;
  /** True when the page was cut short of `limit` to stay under the answer's size budget. */
  truncated: boolean;
}

export const defaultViewPageLimit = 50;
export const maxViewPageLimit = 1000;
/**
 * An answer stays inline in Temporal: under the 128 KiB from which fleetview's payloads go to the
 * store (a page is read once; storing it would only leave a blob for the sweep).
 */
const pageBudgetBytes = 96 * 1024;

/** What is wrong with a page request, or null. Requests come from operators and other programs. */
export function viewPageProblem(request: unknown): string | null {
  if (request === undefined || request === null) return null;
  if (typeof request !== 'object' || Array.isArray(request)) return `a view page request must be an object, got ${JSON.stringify(request)}`;
  const known = new Set(['node', 'shard', 'offset', 'limit']);
  for (const [key, value] of Object.entries(request)) {
    if (!known.has(key)) return `unknown field ${JSON.stringify(key)} in the view page request (known: node, shard, offset, limit)`;
    if ((key === 'node' || key === 'shard') && value !== undefined && (typeof value !== 'string' || value === '')) {
      return `${key} must be a non-empty string, got ${JSON.stringify(value)}`;
    }
    if (key === 'offset' && value !== undefined && (!Number.isSafeInteger(value) || (value as number) < 0)) {
      return `offset must be an integer >= 0, got ${JSON.stringify(value)}`;
    }
    if (key === 'limit' && value !== undefined && (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > maxViewPageLimit)) {
      return `limit must be an integer from 1 to ${maxViewPageLimit}, got ${JSON.stringify(value)}`;
    }
  }
  return null;
}

/** Where a page request starts and how many it asks for, defaults filled in. */
export function pageBounds(request: ViewPageRequest = {}): { offset: number; limit: number } {
  return { offset: request.offset ?? 0, limit: request.limit ?? defaultViewPageLimit };
}

/** The page of `view` the request names (call viewPageProblem first). */
export function viewPage(view: ClusterView, request: ViewPageRequest = {}): { view: ClusterView; page: ViewPageInfo } {
  const { offset, limit } = pageBounds(request);
  const { node, shard } = request;
  let members = node === undefined ? view.members : view.members.filter((m) => m.address === node || m.node_id === node);
  if (shard !== undefined) {
    members = members
      .filter((m) => m.shards?.some((s) => s.id === shard))
      .map((m) => ({ ...m, shards: m.shards?.filter((s) => s.id === shard) ?? null }));
  }
  const heldShards = node === undefined ? null : new Set(members.flatMap((m) => m.shards?.map((s) => s.id) ?? []));
  const shards = view.shards.filter((s) => (shard === undefined || s.id === shard) && (heldShards === null || heldShards.has(s.id)));

  let budget = pageBudgetBytes - JSON.stringify({ ...view, members: [], shards: [] }).length;
  let truncated = false;
  const take = <T>(items: readonly T[]): T[] => {
    const page: T[] = [];
    for (const item of items.slice(offset, offset + limit)) {
      const size = JSON.stringify(item).length + 1;
      if (page.length > 0 && size > budget) {
        truncated = true;
        break;
      }
      budget -= size;
      page.push(item);
    }
    return page;
  };
  const pageMembers = take(members);
  const pageShards = take(shards);
  return {
    view: { ...view, members: pageMembers, shards: pageShards },
    page: { members_total: members.length, shards_total: shards.length, offset, limit, truncated },
  };
}
