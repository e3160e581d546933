/**
 * Schemas of the three Agent API responses (docs: shared/design/agent-api.md). They accept what
 * real agents send and emit the domain's normalized shapes: roles lowercase, unknown roles and
 * custom offset units kept, optional fields null, unknown fields dropped, offsets integers.
 */
import { z } from 'zod';
import { nodeIdProblem } from '../domain/ids.js';
import type { AgentInfo, DatastoreInfo, Offset, OffsetUnit, Shard, ShardRole } from '../domain/observation.js';
import { controlCharacterProblem } from '../domain/text.js';

/** Shard ids are free text from the datastore (Kafka's include topic names); only bounded. */
const maxShardIdLength = 1024;

/**
 * Free text an agent reports (versions, kinds, names): it reaches events, the store and
 * terminals, so it is bounded and printable; anything else is a broken answer.
 */
const agentText = (max = 256) =>
  z
    .string()
    .max(max)
    .superRefine((text, ctx) => {
      const problem = controlCharacterProblem(text);
      if (problem) ctx.addIssue({ code: 'custom', message: `expected printable text, got a ${problem}` });
    });

const agentInfoSchema = z.object({
  version: z.object({ checkout: agentText(), number: agentText(), taint: agentText() }),
});

const datastoreInfoSchema = z.object({
  // Compared with discovery's id, never kept when it differs (the reason quotes it escaped).
  cluster_id: z.string(),
  node_id: z.string().superRefine((id, ctx) => {
    const problem = nodeIdProblem(id);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  kind: agentText(),
  version: agentText(),
  cluster_display_name: agentText().nullish().transform((name) => name ?? null),
});

/** `"primary"` / `"secondary"` in any case; `{"unknown": text}` (a bare other string is read the same way). */
const roleSchema = z.union([agentText(), z.record(z.string(), agentText())]).transform((raw, ctx): ShardRole => {
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
const unitSchema = z.union([agentText(), z.object({ unit: agentText() })]).transform((raw): OffsetUnit => {
  if (typeof raw !== 'string') return { unit: raw.unit };
  return raw.toLowerCase() === 'seconds' ? 'seconds' : { unit: raw };
});

const offsetSchema = z
  .object({ unit: unitSchema, value: z.int() })
  .nullish()
  .transform((offset): Offset | null => offset ?? null);

const shardSchema = z.object({
  id: agentText(maxShardIdLength).min(1),
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
