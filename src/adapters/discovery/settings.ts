/**
 * Discovery settings documents: what operators write (YAML), apply with the CLI, and fleetview
 * stores (`discovery_settings`). Plain JSON with snake_case options, validated here with every
 * problem named, so a typo fails at apply time instead of at the next discovery run.
 *
 *   name: orders-fleet          # unique; A-Z a-z 0-9 . _ -
 *   backend: file               # file | http | http_sd
 *   enabled: true               # default true
 *   interval: 60                # seconds between runs, default 60
 *   retirement_guard:           # optional; defaults below (README "The retirement guard")
 *     max_missing_share: 0.5    # hold retirements when a run drops more than this share ...
 *     min_missing: 3            # ... and at least this many clusters at once
 *   options: { path: clusters/*.yaml }
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { clusterIdPattern } from '../../domain/ids.js';
import { defaultRetirementGuard } from '../../domain/retirement-guard.js';
import { describeIssues } from '../agent-schema.js';
import { globProblem } from './glob.js';

const headerName = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

/** Extra request headers, e.g. `{Authorization: "Bearer ..."}`. */
const headersSchema = z.record(z.string(), z.string()).superRefine((headers, ctx) => {
  for (const name of Object.keys(headers)) {
    if (!headerName.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `header names are letters, digits and -, got ${JSON.stringify(name)}` });
  }
});

const tlsFields = {
  /** PEM CA bundle verifying the server. */
  ca_file: z.string().min(1).optional(),
  /** PEM client certificate (mTLS); needs key_file. */
  cert_file: z.string().min(1).optional(),
  key_file: z.string().min(1).optional(),
  /** Skip server certificate verification (explicit opt-in). */
  insecure_skip_verify: z.boolean().default(false),
};

const httpCommonFields = {
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  headers: headersSchema.default({}),
  /** Seconds per request (default 10). */
  timeout: z.number().positive().max(600).default(10),
  /** Largest answer accepted, bytes (default 16 MiB). */
  max_response_bytes: z.int().min(1024).max(1024 * 1024 * 1024).default(16 * 1024 * 1024),
  ...tlsFields,
};

const bothOrNeither = (options: { cert_file?: string | undefined; key_file?: string | undefined }): boolean =>
  Boolean(options.cert_file) === Boolean(options.key_file);
const bothOrNeitherMessage = { message: 'cert_file and key_file go together (mTLS needs both)', path: ['cert_file'] };

/** JSON bodies end up in MongoDB: no key may look like an operator. */
function hasOperatorKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasOperatorKey);
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([key, inner]) => key.startsWith('$') || key.includes('.') || hasOperatorKey(inner));
}

export const fileOptionsSchema = z.strictObject({
  /** A file or a glob (`*`, `?` in the file name) of YAML/JSON record lists. */
  path: z
    .string()
    .min(1)
    .refine((path) => globProblem(path) === null, { message: 'wildcards are only supported in the file name' }),
});

export const httpOptionsSchema = z
  .strictObject({
    ...httpCommonFields,
    method: z.enum(['POST', 'GET']).default('POST'),
    /** JSON object sent with every POST, plus the cursor. */
    body: z
      .record(z.string(), z.unknown())
      .refine((body) => !hasOperatorKey(body), { message: 'keys may not start with $ or contain .' })
      .default({}),
    /** Pages after which a cursor chain is cut off (default 100). */
    max_pages: z.int().min(1).max(100_000).default(100),
  })
  .refine(bothOrNeither, bothOrNeitherMessage);

export const httpSdOptionsSchema = z
  .strictObject({
    ...httpCommonFields,
    cluster_label: z.string().min(1).default('cluster_id'),
    address_label: z.string().min(1).default('__meta_agent_address'),
    display_name_label: z.string().min(1).default('__meta_cluster_display_name'),
    scheme: z.enum(['http', 'https']).default('http'),
  })
  .refine(bothOrNeither, bothOrNeitherMessage);

const shown = (value: unknown): string => (value === undefined ? 'nothing' : JSON.stringify(value));

/** When a successful run holds its retirements instead of letting clusters go missing (src/domain/retirement-guard.ts). */
export const retirementGuardSchema = z
  .strictObject({
    max_missing_share: z
      .number({ error: (issue) => `expected a share from 0 to 1 (0.5: more than half of the discovery's clusters at once; 1: never hold), got ${shown(issue.input)}` })
      .min(0)
      .max(1)
      .default(defaultRetirementGuard.max_missing_share),
    min_missing: z
      .int({ error: (issue) => `expected a whole number of clusters from 1 to 1000000, got ${shown(issue.input)}` })
      .min(1)
      .max(1_000_000)
      .default(defaultRetirementGuard.min_missing),
  })
  .prefault({});

const commonFields = {
  name: z.string().regex(clusterIdPattern, 'names are 1 to 128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit'),
  enabled: z.boolean().default(true),
  /** Seconds between runs (fixed rate). */
  interval: z.int().min(1).max(7 * 86_400).default(60),
  retirement_guard: retirementGuardSchema,
};

export const discoverySettingSchema = z.discriminatedUnion('backend', [
  z.strictObject({ ...commonFields, backend: z.literal('file'), options: fileOptionsSchema }),
  z.strictObject({ ...commonFields, backend: z.literal('http'), options: httpOptionsSchema }),
  z.strictObject({ ...commonFields, backend: z.literal('http_sd'), options: httpSdOptionsSchema }),
]);

export type DiscoverySetting = z.output<typeof discoverySettingSchema>;
export type FileDiscoveryOptions = z.output<typeof fileOptionsSchema>;
export type HttpDiscoveryOptions = z.output<typeof httpOptionsSchema>;
export type HttpSdDiscoveryOptions = z.output<typeof httpSdOptionsSchema>;

export class DiscoverySettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid discovery settings:\n  - ${problems.join('\n  - ')}`);
    this.name = 'DiscoverySettingsError';
  }
}

export type SettingParse = { ok: true; setting: DiscoverySetting } | { ok: false; problem: string };

/** Validates one settings document; `where` prefixes the problem (`a.yaml document 2`). */
export function parseDiscoverySetting(raw: unknown, where: string): SettingParse {
  const result = discoverySettingSchema.safeParse(raw);
  if (result.success) return { ok: true, setting: result.data };
  const name = typeof raw === 'object' && raw !== null && typeof (raw as { name?: unknown }).name === 'string' ? ` (${JSON.stringify((raw as { name: string }).name)})` : '';
  return { ok: false, problem: `${where}${name}: ${describeIssues(result.error.issues, 5)}` };
}

/**
 * Reads settings from YAML (or JSON) files: each file holds one or more `---` documents, each
 * a setting or a list of settings. Relative paths in options (path, ca_file, cert_file,
 * key_file) are resolved against the file's directory, as Prometheus does for file_sd. Throws
 * DiscoverySettingsError listing every problem, duplicate names included.
 */
export async function loadDiscoverySettingsFiles(paths: readonly string[]): Promise<DiscoverySetting[]> {
  const settings: DiscoverySetting[] = [];
  const problems: string[] = [];
  const definedAt = new Map<string, string>();
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      problems.push(`${path}: cannot read the file (${(error as Error).message})`);
      continue;
    }
    const documents = parseAllDocuments(text);
    const list = Array.isArray(documents) ? documents : [documents];
    for (const [docIndex, document] of list.entries()) {
      const docWhere = list.length > 1 ? `${path} document ${docIndex + 1}` : path;
      if (document.errors.length > 0) {
        problems.push(`${docWhere}: not valid YAML: ${document.errors[0]?.message.split('\n')[0] ?? 'parse error'}`);
        continue;
      }
      const content: unknown = document.toJS();
      if (content === null || content === undefined) continue;
      const items = Array.isArray(content) ? content : [content];
      for (const [itemIndex, item] of items.entries()) {
        const where = Array.isArray(content) ? `${docWhere} [${itemIndex}]` : docWhere;
        const parsed = parseDiscoverySetting(item, where);
        if (!parsed.ok) {
          problems.push(parsed.problem);
          continue;
        }
        const earlier = definedAt.get(parsed.setting.name);
        if (earlier !== undefined) {
          problems.push(`${where}: discovery ${JSON.stringify(parsed.setting.name)} is already defined at ${earlier}`);
          continue;
        }
        definedAt.set(parsed.setting.name, where);
        settings.push(resolveRelativePaths(parsed.setting, dirname(resolve(path))));
      }
    }
  }
  if (problems.length > 0) throw new DiscoverySettingsError(problems);
  return settings;
}

function resolveRelativePaths(setting: DiscoverySetting, baseDirectory: string): DiscoverySetting {
  const absolute = (path: string | undefined): string | undefined => (path === undefined || isAbsolute(path) ? path : resolve(baseDirectory, path));
  if (setting.backend === 'file') return { ...setting, options: { path: absolute(setting.options.path)! } };
  const options = { ...setting.options };
  for (const key of ['ca_file', 'cert_file', 'key_file'] as const) {
    const path = absolute(options[key]);
    if (path === undefined) delete options[key];
    else options[key] = path;
  }
  return { ...setting, options } as DiscoverySetting;
}
