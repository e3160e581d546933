/**
 * The fleet page's query parameters, checked where they come in: a value that does not fit is a
 * 400 naming the parameter and what it expects, never a guess. An empty value is no value (the
 * pages' own forms send every field). Pure: the server hands URLSearchParams in.
 */
import { clusterIdProblem } from '../domain/ids.js';
import { eventCodes, type EventCode } from '../domain/event-catalogue.js';
import { quoted, unprintableProblem } from '../domain/text.js';
import { defaultViewPageLimit, maxViewPageLimit } from '../domain/view-page.js';
import {
  defaultFleetLimit,
  defaultFleetQuery,
  fleetControlFilters,
  fleetSortKeys,
  fleetStatuses,
  maxFleetLimit,
  type FleetControlFilter,
  type FleetQuery,
  type FleetSortKey,
  type FleetStatus,
} from './fleet-rows.js';

/** A query parameter that does not fit: the page answers 400 with this message. */
export class BadQuery extends Error {
  constructor(
    readonly param: string,
    problem: string,
  ) {
    super(`bad query parameter ${param}: ${problem}`);
    this.name = 'BadQuery';
  }
}

/** Reads the parameters of one page: each known at most once, the unknown refused. */
class Params {
  constructor(
    private readonly params: URLSearchParams,
    known: readonly string[],
  ) {
    for (const name of new Set(params.keys())) {
      if (!known.includes(name)) throw new BadQuery(quoted(name, 40), `unknown (this page takes ${known.join(', ')})`);
    }
  }

  /** The value, or undefined when absent or empty; given twice is a problem. */
  one(name: string): string | undefined {
    const values = this.params.getAll(name).filter((value) => value !== '');
    if (values.length > 1) throw new BadQuery(name, 'given more than once');
    return values[0];
  }

  /** Every value, comma-separated ones split, empty ones dropped. */
  many(name: string): string[] {
    return this.params
      .getAll(name)
      .flatMap((value) => value.split(','))
      .map((value) => value.trim())
      .filter((value) => value !== '');
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.one(name);
    if (raw === undefined) return fallback;
    const value = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) throw new BadQuery(name, `expected a whole number from ${min} to ${max}, got ${quoted(raw)}`);
    return value;
  }

  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const raw = this.one(name);
    if (raw === undefined) return fallback;
    if (!(choices as readonly string[]).includes(raw)) throw new BadQuery(name, `expected one of ${choices.join(', ')}, got ${quoted(raw)}`);
    return raw as T;
  }

  /** Printable text of at most `max` characters. */
  text(name: string, max: number): string | null {
    const raw = this.one(name);
    if (raw === undefined) return null;
    if (raw.length > max) throw new BadQuery(name, `expected at most ${max} characters, got ${raw.length}`);
    const problem = unprintableProblem(raw);
    if (problem) throw new BadQuery(name, `expected printable text, got ${quoted(raw)} with a ${problem}`);
    return raw;
  }
}

export const fleetParams = ['status', 'kind', 'q', 'control', 'sort', 'dir', 'offset', 'limit'] as const;

export function parseFleetQuery(search: URLSearchParams): FleetQuery {
  const params = new Params(search, fleetParams);
  const status = params.many('status').map((raw) => {
    const value = raw.toUpperCase();
    if (!(fleetStatuses as readonly string[]).includes(value)) throw new BadQuery('status', `expected ${fleetStatuses.join(', ')} (comma-separated), got ${quoted(raw)}`);
    return value as FleetStatus;
  });
  return {
    status: [...new Set(status)],
    kind: params.text('kind', 64),
    q: params.text('q', 200),
    control: params.one('control') === undefined ? null : params.choice<FleetControlFilter>('control', fleetControlFilters, 'paused'),
    sort: params.choice<FleetSortKey>('sort', fleetSortKeys, defaultFleetQuery.sort),
    dir: params.choice('dir', ['asc', 'desc'] as const, defaultFleetQuery.dir),
    offset: params.integer('offset', 0, 0, 1_000_000),
    limit: params.integer('limit', defaultFleetLimit, 1, maxFleetLimit),
  };
}

/** The cluster page: a page of members and one of shards (paged apart), optionally one node or one shard. */
export interface ClusterPageQuery {
  node: string | null;
  shard: string | null;
  members_offset: number;
  shards_offset: number;
  limit: number;
}

export const clusterParams = ['node', 'shard', 'members_offset', 'shards_offset', 'limit'] as const;

export function parseClusterPageQuery(search: URLSearchParams): ClusterPageQuery {
  const params = new Params(search, clusterParams);
  return {
    node: params.text('node', 2048),
    shard: params.text('shard', 1024),
    members_offset: params.integer('members_offset', 0, 0, 10_000_000),
    shards_offset: params.integer('shards_offset', 0, 0, 10_000_000),
    limit: params.integer('limit', defaultViewPageLimit, 1, maxViewPageLimit),
  };
}

/** A cluster id from the path: the rule of every other door. */
export function parseClusterId(raw: string): string {
  const problem = clusterIdProblem(raw);
  if (problem) throw new BadQuery('cluster', problem);
  return raw;
}

/** The events page and its stream. */
export interface EventsQuery {
  cluster: string | null;
  codes: EventCode[];
  /** Events already received to show first (the page) or to replay (the stream's first connection). */
  limit: number;
  /** The stream only: replay what came after this position (EventSource's Last-Event-ID, or the page's). */
  after: string | null;
}

export const defaultEventsLimit = 200;
export const maxEventsLimit = 2000;
export const eventsParams = ['cluster', 'code', 'limit', 'after'] as const;

export function parseEventsQuery(search: URLSearchParams): EventsQuery {
  const params = new Params(search, eventsParams);
  const cluster = params.one('cluster');
  if (cluster !== undefined) {
    const problem = clusterIdProblem(cluster);
    if (problem) throw new BadQuery('cluster', problem);
  }
  const codes = params.many('code').map((raw) => {
    const value = raw.toUpperCase();
    if (!(eventCodes as string[]).includes(value)) throw new BadQuery('code', `expected event codes (comma-separated) such as NODE_DOWN or CLUSTER_STATUS_CHANGED, got ${quoted(raw)}`);
    return value as EventCode;
  });
  const after = params.one('after') ?? null;
  if (after !== null && !/^[A-Za-z0-9]{1,32}:\d{1,15}$/.test(after)) throw new BadQuery('after', `expected a stream position like ab12cd:42, got ${quoted(after)}`);
  return { cluster: cluster ?? null, codes: [...new Set(codes)], limit: params.integer('limit', defaultEventsLimit, 0, maxEventsLimit), after };
}

/** The query string of a page: the non-default parameters, for links that keep the filters. */
export function queryString(values: Record<string, string | number | readonly string[] | null | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value === null || value === undefined || value === '') continue;
    if (Array.isArray(value)) {
      if (value.length > 0) params.set(name, value.join(','));
    } else params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}
