/**
 * Discovery settings documents: what operators write (YAML), apply with the CLI, and fleetview
 * stores (`discovery_settings`). Plain JSON with snake_case options, validated here with every
 * problem named, so a typo fails at apply time instead of at the next discovery run.
 *
 *   name: orders-fleet          # unique; A-Z a-z 0-9 . _ -
 *   backend: file               # file | http | http_sd
 *   enabled: true               # default true
 *   interval: 60                # seconds between runs, default 60
 *   retirement_guard:           # optional; defaults below (docs/concepts.md, "The retirement guard")
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
import { describeType, escaped, oneLine, quoted, unprintableProblem } from '../../domain/text.js';
import { describeIssues } from '../agent-schema.js';
import { decodeUtf8, NotUtf8Error } from '../../domain/utf8.js';
import { globProblem } from './glob.js';

const headerName = /^[A-Za-z0-9][A-Za-z0-9-]{0,255}$/;
/** Prometheus label names (`__meta_*` included). */
const labelName = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;

/** A string with no control characters (`also` rejects more, e.g. spaces in a URL), of at most `max` characters. */
const printable = (max: number, what: string) =>
  z
    .string()
    .max(max, `${what} longer than ${max} characters`)
    .superRefine((value, ctx) => {
      const problem = unprintableProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: `${what} with a ${problem}` });
    });

/** Extra request headers, e.g. `{Authorization: "Bearer ..."}`: values go on the wire as given. */
const headersSchema = z.record(z.string(), z.string()).superRefine((headers, ctx) => {
  for (const [name, value] of Object.entries(headers)) {
    if (!headerName.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `header names are 1 to 256 letters, digits and -, got ${quoted(name)}` });
    // A CR or LF would end the header and start another (header injection); tabs are allowed.
    const unprintable = unprintableProblem(value.replace(/\t/g, ' '));
    const problem = value.length > 8192 ? `longer than 8192 characters (${value.length})` : unprintable ? `with a ${unprintable}` : null;
    if (problem) ctx.addIssue({ code: 'custom', path: [name], message: `a header value ${problem}` });
  }
});

/** A file path: relative ones are resolved against the settings file's folder. */
const pathSchema = printable(4096, 'a path').min(1, 'an empty path');

const tlsFields = {
  /** PEM CA bundle verifying the server. */
  ca_file: pathSchema.optional(),
  /** PEM client certificate (mTLS); needs key_file. */
  cert_file: pathSchema.optional(),
  key_file: pathSchema.optional(),
  /** Skip server certificate verification (explicit opt-in). */
  insecure_skip_verify: z.boolean().default(false),
};

const httpCommonFields = {
  // The URL parser would quietly drop tabs and newlines; the URL is stored and shown as written.
  url: printable(2048, 'a URL')
    .refine((url) => !/\s/.test(url), 'a URL with a space')
    .pipe(z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })),
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
  path: pathSchema.refine((path) => globProblem(path) === null, { message: 'wildcards are only supported in the file name' }),
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

const labelNameMessage = 'label names are 1 to 256 characters of A-Z a-z 0-9 _, not starting with a digit';

export const httpSdOptionsSchema = z
  .strictObject({
    ...httpCommonFields,
    cluster_label: z.string().regex(labelName, labelNameMessage).default('cluster_id'),
    address_label: z.string().regex(labelName, labelNameMessage).default('__meta_agent_address'),
    display_name_label: z.string().regex(labelName, labelNameMessage).default('__meta_cluster_display_name'),
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
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, problem: `${where}: expected a discovery setting (a mapping with name, backend and options), got ${describeType(raw)}` };
  }
  const result = discoverySettingSchema.safeParse(raw);
  if (result.success) return { ok: true, setting: result.data };
  const name = typeof (raw as { name?: unknown }).name === 'string' ? ` (${quoted((raw as { name: string }).name)})` : '';
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
    // Paths come from the command line: shown escaped and cut, never as raw terminal input.
    const shown = escaped(path, 200);
    let text: string;
    try {
      text = decodeUtf8(await readFile(path));
    } catch (error) {
      problems.push(`${shown}: ${error instanceof NotUtf8Error ? error.message : `cannot read the file (${fileErrorText(error)})`}`);
      continue;
    }
    const documents = parseAllDocuments(text);
    const list = Array.isArray(documents) ? documents : [documents];
    for (const [docIndex, document] of list.entries()) {
      const docWhere = list.length > 1 ? `${shown} document ${docIndex + 1}` : shown;
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

/** `no such file or directory (ENOENT)`: Node's message without the path it repeats. */
export function fileErrorText(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  const text = /^[A-Z]+: ([^,]+)/.exec(message)?.[1];
  return code && text ? `${text} (${code})` : oneLine(message, 200);
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
