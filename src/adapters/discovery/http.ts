/**
 * The `http` discovery source, Replicante's protocol: POST the configured body with
 * `"cursor": null`, then with each returned cursor until it is null; or one GET whose answer
 * must carry `cursor: null`. Any failed page fails the run: a partial list would look like
 * the clusters on the missing pages were gone.
 */
import { createJsonHttpClient } from '../http-json-client.js';
import type { TlsOptions } from '../http-json-client.js';
import { DiscoverySourceError } from './errors.js';
import { displayUrl } from './redact.js';
import { typeName, validateRecords } from './records.js';
import type { DiscoveryResult, RawRecord } from './records.js';
import type { DiscoverySource } from './source.js';

export interface HttpSourceOptions {
  url: string;
  /** POST (default) pages with a cursor; GET expects everything in one answer. */
  method?: 'POST' | 'GET' | undefined;
  /** JSON object sent with every POST, plus `cursor` (default {}). */
  body?: Record<string, unknown> | undefined;
  headers?: Record<string, string> | undefined;
  /** Per-request timeout in ms (default 10000). */
  timeoutMs?: number | undefined;
  /** Largest page accepted, in bytes (default 16 MiB). */
  maxResponseBytes?: number | undefined;
  /** Pages after which the cursor chain is cut off as never-ending (default 100). */
  maxPages?: number | undefined;
  tls?: TlsOptions | undefined;
}

export const httpSourceDefaults = { timeoutMs: 10_000, maxResponseBytes: 16 * 1024 * 1024, maxPages: 100 } as const;

export function createHttpSource(name: string, options: HttpSourceOptions): DiscoverySource {
  const method = options.method ?? 'POST';
  const maxPages = options.maxPages ?? httpSourceDefaults.maxPages;
  const http = createJsonHttpClient({
    timeoutMs: options.timeoutMs ?? httpSourceDefaults.timeoutMs,
    maxResponseBytes: options.maxResponseBytes ?? httpSourceDefaults.maxResponseBytes,
    headers: options.headers,
    tls: options.tls,
    userAgent: 'fleetview-discovery',
  });

  // Error messages reach CLI output and workflow histories: no password or query values in them.
  const shownUrl = displayUrl(options.url);

  async function fetchPage(page: number, cursor: string | null): Promise<{ clusters: unknown[]; cursor: string | null }> {
    const where = method === 'GET' ? `GET ${shownUrl}` : `POST ${shownUrl} page ${page}`;
    const outcome = await http.request(options.url, method === 'GET' ? { method } : { method, json: { ...options.body, cursor } });
    if (!outcome.ok) throw new DiscoverySourceError(name, `${where}: ${outcome.reason}`);
    const body = outcome.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new DiscoverySourceError(name, `${where}: expected {"clusters": [...], "cursor": ...}, got ${typeName(body)}`);
    }
    const { clusters, cursor: next = null } = body as { clusters?: unknown; cursor?: unknown };
    if (!Array.isArray(clusters)) throw new DiscoverySourceError(name, `${where}: "clusters" must be a list, got ${typeName(clusters)}`);
    if (next !== null && typeof next !== 'string') throw new DiscoverySourceError(name, `${where}: "cursor" must be a string or null, got ${typeName(next)}`);
    return { clusters, cursor: next };
  }

  async function discover(): Promise<DiscoveryResult> {
    const raw: RawRecord[] = [];
    const seenCursors = new Set<string>();
    let cursor: string | null = null;
    for (let page = 1; ; page++) {
      const answer = await fetchPage(page, cursor);
      const prefix = method === 'GET' ? '' : `page ${page} `;
      answer.clusters.forEach((value, index) => raw.push({ location: `${prefix}clusters[${index}]`, value }));
      if (answer.cursor === null) break;
      if (method === 'GET') throw new DiscoverySourceError(name, `GET ${shownUrl} returned a cursor: GET must answer everything at once (use POST for pages)`, false);
      if (seenCursors.has(answer.cursor)) {
        throw new DiscoverySourceError(name, `POST ${shownUrl}: cursor ${JSON.stringify(clip(answer.cursor))} returned twice: the cursor chain loops`);
      }
      if (page >= maxPages) {
        throw new DiscoverySourceError(name, `POST ${shownUrl}: cursor chain cut off after ${maxPages} pages (max_pages) without reaching cursor null`);
      }
      seenCursors.add(answer.cursor);
      cursor = answer.cursor;
    }
    return validateRecords(name, raw);
  }

  return { name, backend: 'http', discover, close: () => http.close() };
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
