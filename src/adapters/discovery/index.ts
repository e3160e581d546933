/**
 * Discovery sources: build one from a settings document, keep them across runs.
 */
import type { TlsOptions } from '../http-json-client.js';
import { createFileSource } from './file.js';
import { createHttpSource } from './http.js';
import { createHttpSdSource } from './http-sd.js';
import type { DiscoverySetting } from './settings.js';
import type { DiscoverySource } from './source.js';

export { createFileSource } from './file.js';
export type { FileSourceOptions } from './file.js';
export { createHttpSource, httpSourceDefaults } from './http.js';
export type { HttpSourceOptions } from './http.js';
export { createHttpSdSource, httpSdDefaults } from './http-sd.js';
export type { HttpSdSourceOptions } from './http-sd.js';
export { DiscoverySourceError } from './errors.js';
export { auditedSetting, displayUrl, redactedSetting } from './redact.js';
export { validateRecord, validateRecords } from './records.js';
export type { DiscoveryProblem, DiscoveryResult, RawRecord } from './records.js';
export { discoveryBackends } from './source.js';
export type { DiscoveryBackend, DiscoverySource } from './source.js';
export {
  DiscoverySettingsError,
  discoverySettingSchema,
  loadDiscoverySettingsFiles,
  parseDiscoverySetting,
} from './settings.js';
export type { DiscoverySetting, FileDiscoveryOptions, HttpDiscoveryOptions, HttpSdDiscoveryOptions } from './settings.js';

function tlsOf(options: { ca_file?: string | undefined; cert_file?: string | undefined; key_file?: string | undefined; insecure_skip_verify: boolean }): TlsOptions {
  return { caFile: options.ca_file, certFile: options.cert_file, keyFile: options.key_file, insecureSkipVerify: options.insecure_skip_verify };
}

/** The source a validated settings document describes. */
export function createDiscoverySource(setting: DiscoverySetting): DiscoverySource {
  switch (setting.backend) {
    case 'file':
      return createFileSource(setting.name, { path: setting.options.path });
    case 'http': {
      const o = setting.options;
      return createHttpSource(setting.name, {
        url: o.url,
        method: o.method,
        body: o.body,
        headers: o.headers,
        timeoutMs: Math.round(o.timeout * 1000),
        maxResponseBytes: o.max_response_bytes,
        maxPages: o.max_pages,
        tls: tlsOf(o),
      });
    }
    case 'http_sd': {
      const o = setting.options;
      return createHttpSdSource(setting.name, {
        url: o.url,
        headers: o.headers,
        clusterLabel: o.cluster_label,
        addressLabel: o.address_label,
        displayNameLabel: o.display_name_label,
        scheme: o.scheme,
        timeoutMs: Math.round(o.timeout * 1000),
        maxResponseBytes: o.max_response_bytes,
        tls: tlsOf(o),
      });
    }
  }
}

export interface DiscoverySourceCache {
  /**
   * The source for this setting: the same instance while its backend and options stay the same
   * (so the file source keeps its last good contents), a new one when they change.
   */
  sourceFor(setting: DiscoverySetting): DiscoverySource;
  /** Closes and forgets sources whose discovery is not among `names` (deleted settings). */
  retain(names: Iterable<string>): void;
  close(): void;
}

/** Build once per worker and share between discovery activity runs. */
export function createDiscoverySourceCache(create: (setting: DiscoverySetting) => DiscoverySource = createDiscoverySource): DiscoverySourceCache {
  const sources = new Map<string, { key: string; source: DiscoverySource }>();
  return {
    sourceFor(setting) {
      const key = JSON.stringify([setting.backend, setting.options]);
      const cached = sources.get(setting.name);
      if (cached?.key === key) return cached.source;
      cached?.source.close();
      const source = create(setting);
      sources.set(setting.name, { key, source });
      return source;
    },
    retain(names) {
      const keep = new Set(names);
      for (const [name, cached] of sources) {
        if (keep.has(name)) continue;
        cached.source.close();
        sources.delete(name);
      }
    },
    close() {
      for (const cached of sources.values()) cached.source.close();
      sources.clear();
    },
  };
}
