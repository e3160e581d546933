/**
 * Schemas of the three Agent API responses (docs: shared/design/agent-api.md). They accept what
 * real agents send and emit the domain's normalized shapes: roles lowercase, unknown roles and
 * custom offset units kept, optional fields null, unknown fields dropped, offsets integers.
 */
import { z } from 'zod';
import { nodeIdProblem } from '../domain/ids.js';
import type { AgentInfo, DatastoreInfo, Offset, OffsetUnit, Shard, ShardRole } from '../domain/observation.js';

/** Shard ids are free text from the datastore (Kafka's include topic names); only bounded. */
const maxShardIdLength = 1024;

const agentInfoSchema = z.object({
  version: z.object({ checkout: z.string(), number: z.string(), taint: z.string() }),
});

const datastoreInfoSchema = z.object({
  cluster_id: z.string(),
  node_id: z.string().superRefine((id, ctx) => {
    const problem = nodeIdProblem(id);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  kind: z.string(),
  version: z.string(),
  cluster_display_name: z.string().nullish().transform((name) => name ?? null),
});

/** `"primary"` / `"secondary"` in any case; `{"unknown": text}` (a bare other string is read the same way). */
const roleSchema = z.union([z.string(), z.record(z.string(), z.string())]).transform((raw, ctx): ShardRole => {
  if (typeof raw === 'string') {
    const lower = raw.toLowerCase();
    return lower === 'primary' || lower === 'secondary' ? lower : { unknown: raw };
  }
  const entries = Object.entries(raw);
  const first = entries[0];
  if (entries.length === 1 && first && first[0].toLowerCase() === 'unknown') return { unknown: first[1] };
  ctx.addIssue({ code: 'custom', message: 'expected "primary", "secondary" or {"unknown": "<role>"}' });
  return z.NEVER;
});

/** `"seconds"` in any case, or `{"unit": name}` (a bare other string is read as a custom unit). */
const unitSchema = z.union([z.string(), z.object({ unit: z.string() })]).transform((raw): OffsetUnit => {
  if (typeof raw !== 'string') return { unit: raw.unit };
  return raw.toLowerCase() === 'seconds' ? 'seconds' : { unit: raw };
});

const offsetSchema = z
  .object({ unit: unitSchema, value: z.int() })
  .nullish()
  .transform((offset): Offset | null => offset ?? null);

const shardSchema = z.object({
  id: z.string().min(1).max(maxShardIdLength),
  role: roleSchema,
  commit_offset: offsetSchema,
  lag: offsetSchema,
});

const shardsSchema = z
  .object({ shards: z.array(shardSchema) })
  .superRefine((value, ctx) => {
    const seen = new Set<string>();
    for (const [index, shard] of value.shards.entries()) {
      if (seen.has(shard.id)) {
        ctx.addIssue({ code: 'custom', path: ['shards', index, 'id'], message: `shard id ${JSON.stringify(shard.id)} listed twice` });
      }
      seen.add(shard.id);
    }
  });

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

export function parseAgentInfo(body: unknown): Parsed<AgentInfo> {
  return parseWith(agentInfoSchema, body);
}

export function parseDatastoreInfo(body: unknown): Parsed<DatastoreInfo> {
  return parseWith(datastoreInfoSchema, body);
}

export function parseShards(body: unknown): Parsed<Shard[]> {
  const parsed = parseWith(shardsSchema, body);
  return parsed.ok ? { ok: true, value: parsed.value.shards } : parsed;
}

function parseWith<T>(schema: z.ZodType<T>, body: unknown): Parsed<T> {
  const result = schema.safeParse(body);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, problem: describeIssues(result.error.issues) };
}

/** The first issues, each with its path: `shards[0].role: expected ...`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], limit = 2): string {
  const described = issues.slice(0, limit).map((issue) => {
    const path = issue.path.reduce<string>(
      (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
      '',
    );
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  const more = issues.length > limit ? ` (and ${issues.length - limit} more)` : '';
  return `${described.join('; ')}${more}`;
}
