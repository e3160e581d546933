/**
 * Large Temporal payloads kept in the store, referenced from workflow histories: a driver for the
 * TypeScript SDK's External Storage (the claim-check pattern). A payload over the threshold (a
 * full observation or the continue-as-new input of a large cluster, the first refresh's events)
 * is compressed, split into chunks under the store's document limit and written before the
 * workflow task that references it completes; history holds a small claim instead.
 *
 * Keys are content hashes per workflow id, so a retried task storing the same payload writes the
 * same documents. Chunks are written before their head document, and a reader needs the head:
 * a payload is readable only once complete.
 *
 * Removal (`sweepStoredPayloads`): a payload stored at time t by a workflow is referenced by the
 * run that stored it (started before t) and, for a continue-as-new input, by the next run
 * (started right after t). Once every run of that workflow id started before t + slack is gone
 * from Temporal (closed and past the namespace's retention), nothing can read it any more.
 */
import { createHash } from 'node:crypto';
import { gunzip, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { ExternalStorage, StorageDriverClaim, type DataConverter, type Payload, type StorageDriver } from '@temporalio/common';
import { Binary, type Db } from 'mongodb';
import { within } from './deadline.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export const payloadCollections = { heads: 'payloads', chunks: 'payload_chunks' } as const;

/** Compressed bytes per chunk document: far below the 16 MiB document limit and the wire's message size. */
const chunkBytes = 4 * 1024 * 1024;

interface PayloadHead {
  _id: string;
  /** The workflow whose history references the payload; null when the SDK gave none (then removed by age). */
  workflow_id: string | null;
  run_id: string | null;
  metadata: Record<string, Binary>;
  chunks: number;
  /** Uncompressed payload data, bytes. */
  size: number;
  stored_at: Date;
}

interface PayloadChunk {
  _id: string;
  key: string;
  index: number;
  data: Binary;
}

export interface PayloadStoreOptions {
  /** The store's database, opened on first use (the CLI opens the store only when a payload needs it). */
  db: () => Db | Promise<Db>;
  /** Bound of each store call. */
  timeoutMs: number;
}

export const payloadDriverName = 'fleetview-store';

/** A claim whose payload the store does not hold (swept, or written to another store). */
export class StoredPayloadMissingError extends Error {
  constructor(readonly key: string) {
    super(`stored payload ${key} is not in the store (${payloadCollections.heads}): removed, or written by another store`);
    this.name = 'StoredPayloadMissingError';
  }
}

/** What the store knows of a stored payload without reading its data. */
export interface StoredPayloadInfo {
  key: string;
  /** Uncompressed payload data, bytes. */
  size: number;
  chunks: number;
  workflowId: string | null;
  runId: string | null;
  storedAt: Date;
  /** The payload's own metadata (its `encoding`, ...), decoded as UTF-8. */
  metadata: Record<string, string>;
}

/** The External Storage driver, plus a look at a stored payload's head (size, owner) that reads none of its chunks. */
export interface PayloadStoreDriver extends StorageDriver {
  describe(claim: StorageDriverClaim, signal?: AbortSignal): Promise<StoredPayloadInfo | null>;
}

function asBytes(value: Uint8Array | null | undefined): Uint8Array {
  return value ?? new Uint8Array(0);
}

function claimKey(claim: StorageDriverClaim): string {
  const key = claim.claimData.key;
  if (typeof key !== 'string' || key === '') throw new Error(`a stored payload claim without a key: ${JSON.stringify(claim.claimData)}`);
  return key;
}

export function createPayloadStoreDriver(options: PayloadStoreOptions): PayloadStoreDriver {
  const { timeoutMs } = options;
  const collections = async () => {
    const db = await options.db();
    return { heads: db.collection<PayloadHead>(payloadCollections.heads), chunks: db.collection<PayloadChunk>(payloadCollections.chunks) };
  };

  async function storeOne(payload: Payload, workflowId: string | null, runId: string | null, signal: AbortSignal | undefined): Promise<StorageDriverClaim> {
    const data = asBytes(payload.data);
    const metadata: Record<string, Binary> = {};
    for (const [name, value] of Object.entries(payload.metadata ?? {})) metadata[name] = new Binary(asBytes(value));
    const hash = createHash('sha256').update(workflowId ?? '').update('\0');
    for (const name of Object.keys(metadata).sort()) hash.update(name).update('\0').update(metadata[name]!.buffer).update('\0');
    const key = hash.update(data).digest('hex');
    const { heads, chunks } = await collections();

    const existing = await within(heads.findOne({ _id: key }, { projection: { _id: 1 }, maxTimeMS: timeoutMs }), timeoutMs, 'looking up a stored payload', signal);
    if (existing) {
      // Stored again: refresh its age so the sweep keeps it as long as the newer reference.
      await within(heads.updateOne({ _id: key }, { $max: { stored_at: new Date() } }, { maxTimeMS: timeoutMs }), timeoutMs, 'touching a stored payload', signal);
      return new StorageDriverClaim({ key });
    }
    const compressed = await gzipAsync(data, { level: 1 });
    const count = Math.max(1, Math.ceil(compressed.length / chunkBytes));
    for (let index = 0; index < count; index++) {
      const part = compressed.subarray(index * chunkBytes, (index + 1) * chunkBytes);
      const chunk: PayloadChunk = { _id: `${key}/${index}`, key, index, data: new Binary(part) };
      await within(chunks.replaceOne({ _id: chunk._id }, chunk, { upsert: true, maxTimeMS: timeoutMs }), timeoutMs, `storing payload chunk ${index + 1} of ${count}`, signal);
    }
    const head: PayloadHead = { _id: key, workflow_id: workflowId, run_id: runId, metadata, chunks: count, size: data.length, stored_at: new Date() };
    await within(heads.replaceOne({ _id: key }, head, { upsert: true, maxTimeMS: timeoutMs }), timeoutMs, 'storing a payload head', signal);
    return new StorageDriverClaim({ key });
  }

  async function retrieveOne(claim: StorageDriverClaim, signal: AbortSignal | undefined): Promise<Payload> {
    const key = claimKey(claim);
    const { heads, chunks } = await collections();
    const head = await within(heads.findOne({ _id: key }, { maxTimeMS: timeoutMs }), timeoutMs, `reading stored payload ${key}`, signal);
    if (!head) throw new StoredPayloadMissingError(key);
    const parts = await within(
      chunks.find({ key }, { sort: { index: 1 }, maxTimeMS: timeoutMs, batchSize: 2 }).toArray(),
      timeoutMs * Math.max(1, head.chunks),
      `reading the ${head.chunks} chunks of stored payload ${key}`,
      signal,
    );
    if (parts.length !== head.chunks || parts.some((part, index) => part.index !== index)) {
      throw new Error(`stored payload ${key} is incomplete: ${parts.length} of ${head.chunks} chunks`);
    }
    const data = await gunzipAsync(Buffer.concat(parts.map((part) => part.data.buffer)));
    const metadata: Record<string, Uint8Array> = {};
    for (const [name, value] of Object.entries(head.metadata)) metadata[name] = new Uint8Array(value.buffer);
    return { metadata, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  }

  return {
    name: payloadDriverName,
    type: 'fleetview.mongodb',
    async store(context, payloads) {
      const target = context.target;
      const workflowId = target?.kind === 'workflow' ? (target.id ?? null) : null;
      const runId = target?.kind === 'workflow' ? (target.runId ?? null) : null;
      const claims: StorageDriverClaim[] = [];
      for (const payload of payloads) claims.push(await storeOne(payload, workflowId, runId, context.abortSignal));
      return claims;
    },
    async retrieve(context, claims) {
      const payloads: Payload[] = [];
      for (const claim of claims) payloads.push(await retrieveOne(claim, context.abortSignal));
      return payloads;
    },
    async describe(claim, signal) {
      const key = claimKey(claim);
      const { heads } = await collections();
      const head = await within(heads.findOne({ _id: key }, { maxTimeMS: timeoutMs }), timeoutMs, `looking up stored payload ${key}`, signal);
      if (!head) return null;
      const metadata: Record<string, string> = {};
      for (const [name, value] of Object.entries(head.metadata ?? {})) metadata[name] = Buffer.from(value.buffer).toString('utf8');
      return { key, size: head.size, chunks: head.chunks, workflowId: head.workflow_id, runId: head.run_id, storedAt: head.stored_at, metadata };
    },
  };
}

/** Payloads over `thresholdBytes` go to the store; the rest stay inline in history. */
export function fleetviewDataConverter(options: PayloadStoreOptions & { thresholdBytes: number }): DataConverter {
  return {
    externalStorage: new ExternalStorage({ drivers: [createPayloadStoreDriver(options)], payloadSizeThreshold: options.thresholdBytes }),
  };
}

export interface SweepOptions {
  db: Db;
  temporal: Client;
  timeoutMs: number;
  /** Covers the gap between storing a continue-as-new input and its run starting, and clock skew. */
  slackMs?: number;
  /** Payloads stored without a workflow id are removed after this long. */
  orphanAgeMs?: number;
  now?: () => Date;
}

export interface SweepResult {
  workflows: number;
  removed: number;
  kept: number;
}

/** Removes stored payloads that no workflow history can reference any more (see the module comment). */
export async function sweepStoredPayloads(options: SweepOptions): Promise<SweepResult> {
  const { db, temporal, timeoutMs } = options;
  const slackMs = options.slackMs ?? 10 * 60_000;
  const now = options.now?.() ?? new Date();
  const heads = db.collection<PayloadHead>(payloadCollections.heads);
  const chunks = db.collection<PayloadChunk>(payloadCollections.chunks);
  const workflowIds: Array<string | null> = await within(heads.distinct('workflow_id', {}, { maxTimeMS: timeoutMs }), timeoutMs, 'listing stored payloads');
  let removed = 0;

  async function remove(filter: Record<string, unknown>): Promise<void> {
    const doomed = await within(heads.find(filter, { projection: { _id: 1 }, maxTimeMS: timeoutMs }).toArray(), timeoutMs, 'listing stored payloads to remove');
    for (const { _id } of doomed) {
      // Head first: a payload without its head is unreadable, never half-readable.
      await within(heads.deleteOne({ _id }, { maxTimeMS: timeoutMs }), timeoutMs, 'removing a stored payload');
      await within(chunks.deleteMany({ key: _id }, { maxTimeMS: timeoutMs }), timeoutMs, 'removing stored payload chunks');
      removed += 1;
    }
  }

  for (const workflowId of workflowIds) {
    if (workflowId === null) {
      await remove({ workflow_id: null, stored_at: { $lt: new Date(now.getTime() - (options.orphanAgeMs ?? 7 * 24 * 3600_000)) } });
      continue;
    }
    let earliestStart: Date | null = null;
    await within(
      (async () => {
        for await (const execution of temporal.workflow.list({ query: `WorkflowId = ${JSON.stringify(workflowId)}`, pageSize: 100 })) {
          if (earliestStart === null || execution.startTime < earliestStart) earliestStart = execution.startTime;
        }
      })(),
      timeoutMs,
      `listing the runs of ${workflowId}`,
    );
    const start = earliestStart as Date | null;
    // No run at all: retired and past retention (or not yet visible: hence the slack from now too).
    const before = Math.min(now.getTime(), start?.getTime() ?? Infinity) - slackMs;
    await remove({ workflow_id: workflowId, stored_at: { $lt: new Date(before) } });
  }
  const kept = await within(heads.countDocuments({}, { maxTimeMS: timeoutMs }), timeoutMs, 'counting stored payloads');
  return { workflows: workflowIds.length, removed, kept };
}
