/**
 * fleetview's state in MongoDB (or the embedded MongoDB-wire store): per cluster one small
 * document with the view's summary (`clusters`), and one document per agent, agent info, node and
 * shard allocation (./store-documents.ts), from which `loadView` rebuilds the view whole.
 *
 * Writes follow change. A save writes the entity documents whose material state differs from
 * what the store holds and deletes those the view no longer has, then the cluster document
 * (the workflow also sends it at a bounded rate, so its refresh time stays fresh; that touch
 * rewrites the small cluster document only). A quiet refresh writes nothing.
 *
 * Progress is kept. The adapter knows, per cluster, what the store holds: a fingerprint per
 * entity document, from the writes it saw confirmed (or from reading them back). A save plans
 * against that, so a large first write (100,000 documents) goes in as many flushes and across as
 * many saves as it takes, and nothing confirmed is written again: the caller waits up to its
 * deadline, the write goes on in the background, and a newer view of the cluster replaces the
 * rest of it, planned against what has been written by then.
 *
 * Knowing is checked against the store, because a workflow can move to another worker at any
 * time. Before writing a cluster's entities, a writer raises `writing_generation` in the cluster
 * document to the generation it writes. When that field differs from what this adapter last saw
 * or set, another worker has written since (or the store lost data): what this adapter knew is
 * dropped. Without knowledge, the `stored` view the caller passes is the basis if the cluster
 * document shows no write began after it; otherwise (a write of unknown extent may have landed,
 * or the documents predate this format) the cluster's documents are read back first. What this
 * leaves open: the flush a superseded worker had under way when the other one read may still
 * land (at most one flush of older documents), and a shard document written by a write given up
 * on another worker, that no agent document lists, stays in the collection unread.
 *
 * Reads are bounded in the store's memory too: the embedded store holds a query's whole result
 * in memory, so shard documents are read by the ids the agent documents list, a page of ids per
 * query, never by one query over a large cluster's shards.
 *
 * Writes of many clusters are merged into few bulk commands (group commit): one flush at a time,
 * each of at most `maxOpsPerFlush` statements, in commands of at most `maxWritesPerCommand`
 * (./guarded-bulk-write.ts), each bounded by the operation timeout. Clusters take turns: a
 * cluster whose write is not done goes to the back of the line after each flush, so a small
 * cluster's write waits about one flush, however large the write ahead of it. While a flush has
 * been stuck past the timeout, new saves fail at once (their writes stay queued); a store that
 * fails costs a pause, then a retry.
 *
 * Every write is guarded by generation: an upsert matches only an older document, so an older
 * write (a delayed flush of another worker) never overwrites a newer one; when a newer document
 * exists the upsert collides on _id (E11000), which is the guard working
 * (./guarded-bulk-write.ts). Entities are written before the cluster document: a cluster
 * document with a summary implies its entities are written (entity documents may be ahead of it
 * while a newer write is under way). Only features real MongoDB and mongo-java-server share are
 * used.
 */
import { MongoClient, MongoServerError, type AnyBulkWriteOperation, type Collection, type Db, type Document, type Filter, type MongoClientOptions } from 'mongodb';
import type { ClusterView } from '../domain/cluster-view.js';
import { within } from './deadline.js';
import { guardedBulkWrite, type GuardedBulkWriteOptions, type WriteOutcome } from './guarded-bulk-write.js';
import {
  collectionNames,
  entityCollections,
  entityDocument,
  fingerprint,
  knownDocumentCount,
  knownFromView,
  listedShardDocumentIds,
  noKnownDocuments,
  planWrites,
  summaryOf,
  unknownFingerprint,
  viewFromDocuments,
  type AgentDocument,
  type ClusterSummary,
  type EntityCollection,
  type EntityDocument,
  type EntityDocuments,
  type GuardedDocument,
  type KnownDocuments,
  type WriteOp,
} from './store-documents.js';

export { collectionNames, entityId, type ClusterSummary } from './store-documents.js';

/** Every document fleetview writes here has a string id. */
interface StringIdDocument extends Document {
  _id: string;
}

/** A cluster document, as `listClusters` returns it. */
export interface StoredCluster extends GuardedDocument {
  summary: ClusterSummary;
  updated_at: string;
  /** The highest generation whose entity writes have begun: above `generation`, a write is (or was) under way. */
  writing_generation?: number;
}

/**
 * A cluster document as found: a placeholder (generation 0, no summary) while a cluster's
 * first write is under way, or one written before summaries (with the whole view).
 */
interface ClusterDocument extends GuardedDocument {
  summary?: ClusterSummary;
  view?: ClusterView;
  updated_at?: string;
  writing_generation?: number;
}

export interface SaveResult {
  /** False when a newer generation of the cluster was already stored and this write changed nothing. */
  applied: boolean;
  /** Entity documents upserted and deleted toward this view (the cluster document not counted). */
  upserted: number;
  deleted: number;
}

export interface SaveOptions {
  /** Give up waiting after this long (the write goes on in the background and lands late). */
  deadlineMs?: number;
  /** Aborts the wait (Temporal cancelled the activity). */
  signal?: AbortSignal;
}

export interface ClusterStore {
  /** Creates the indexes the queries need (idempotent). */
  ensureIndexes(): Promise<void>;
  /**
   * Writes the entity documents that differ from what the store holds, then the cluster
   * document with `view`'s summary. `stored` is the view the caller last saw stored (null:
   * none): the basis of the plan when this adapter does not know the cluster's documents and
   * the store shows nothing written since. Rejects with StoreUnavailableError when the store
   * does not take it in time (the write goes on in the background).
   */
  saveView(view: ClusterView, stored?: ClusterView | null, options?: SaveOptions): Promise<SaveResult>;
  /**
   * Rewrites only the cluster document's summary (a refresh time, counts), for a view whose
   * entity documents are already stored as they are: the periodic touch of a quiet cluster,
   * which costs one small write however large the cluster. Not applied (false) when the
   * document is newer, still a placeholder, or a write of the cluster is under way here.
   */
  touchSummary(summary: ClusterSummary, options?: SaveOptions): Promise<boolean>;
  /** The stored view, rebuilt from the cluster's documents (measurements as of each one's last write). */
  loadView(clusterId: string): Promise<ClusterView | null>;
  /** Every stored cluster's summary, by cluster id. */
  listClusters(): Promise<StoredCluster[]>;
  readonly db: Db;
  close(): Promise<void>;
}

export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

export interface StoreOptions {
  uri: string;
  database: string;
  serverSelectionTimeoutMs?: number;
  /** Bound of every store command; also the socket timeout (a frozen store fails, never hangs). */
  timeoutMs?: number;
  /** Connections to the store: its concurrency bound. */
  maxPoolSize?: number;
  /** Called with the name of every command sent (metrics: store operations per refresh). */
  onCommand?: (name: string) => void;
  /** Called after each command with the entity documents it wrote (or deleted) for a cluster, in the background too. */
  onDocumentsWritten?: (clusterId: string, documents: number) => void;
  /** TLS and credentials besides the URI: `mongoStoreOptions(config.mongodb)` from ./connections. */
  clientOptions?: MongoClientOptions;
}

/** A flush writes at most this many statements, so a small cluster's write waits at most about this long. */
const maxOpsPerFlush = 1_000;
/** Clusters whose stored generations one flush reads (one find). */
const maxClustersPerFlush = 100;
/** Documents per reply when reading a cluster's documents back. */
const readBatchSize = 1_000;
/**
 * What `listClusters` reads of a cluster document: the summary, and of a document written before
 * summaries only its view's top-level fields, never its members or shards (a large cluster's
 * view is megabytes).
 */
const summaryFields: ReadonlyArray<keyof ClusterSummary> = ['cluster_id', 'display_name', 'generation', 'refreshed_at', 'status', 'kinds', 'nodes', 'agents_down', 'nodes_down', 'shards_count', 'shards_primaries'];
const listProjection: Document = {
  cluster_id: 1,
  generation: 1,
  updated_at: 1,
  writing_generation: 1,
  ...Object.fromEntries(summaryFields.flatMap((field) => [[`summary.${field}`, 1], [`view.${field}`, 1]])),
};
/**
 * Ids per query when reading documents by id: the embedded store checks each candidate against
 * the whole id list, so large pages cost more per document (250: ~75 µs per document there).
 */
const idsPerRead = 250;
/**
 * Fingerprints kept over all clusters (each ~90 bytes of heap: 9 MB for 100,000 shards): a
 * thousand small clusters and several of 100,000 shards. Past this, those of clusters not written the longest are dropped (their next
 * save plans against the `stored` view, or reads the documents back).
 */
const maxKnownDocuments = 600_000;

interface Waiter {
  resolve(result: SaveResult): void;
  reject(err: Error): void;
}

/** The newest view of a cluster not yet written whole. */
interface PendingWrite {
  view: ClusterView;
  /** The caller's basis, until this adapter knows the cluster's documents. */
  stored: ClusterView | null;
  /**
   * Writes toward `view`, taken in order from `next` (a node's agent document no later than its
   * shards', deletes last); null until planned (after each flush's check).
   */
  plan: WriteOp[] | null;
  next: number;
  waiters: Set<Waiter>;
  upserted: number;
  deleted: number;
}

interface ClusterWrites {
  clusterId: string;
  pending: PendingWrite | null;
  /** What the store holds of the cluster's entity documents; null: not known. */
  known: KnownDocuments | null;
  /** The cluster document's writing_generation as this adapter last saw (or set) it: `known` holds while it stays so. */
  writingSeen: number;
  /** Its documents are being read back: out of the line until done. */
  reconciling: boolean;
}

/** One cluster's part of a flush. */
interface FlushEntry {
  writes: ClusterWrites;
  pending: PendingWrite;
  known: KnownDocuments;
  ops: WriteOp[];
  /** The last of the plan: the cluster document follows if all of them land. */
  completes: boolean;
  /** Ops to take again (not sent, or sent with no answer). */
  leftover: WriteOp[];
  /** Its marker was not set: none of its ops are sent in this flush. */
  held: boolean;
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(`${what} timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function guardedUpsert(doc: GuardedDocument & Document, unset?: Document): AnyBulkWriteOperation<StringIdDocument> {
  const { _id, ...fields } = doc;
  return { updateOne: { filter: { _id, generation: { $lt: doc.generation } }, update: { $set: fields, ...(unset ? { $unset: unset } : {}) }, upsert: true } };
}

/** The cluster document says a write of `generation` begins; it creates a placeholder before a cluster's first write. */
function markWriting(clusterId: string, generation: number): AnyBulkWriteOperation<StringIdDocument> {
  return {
    updateOne: {
      filter: { _id: clusterId },
      update: { $max: { writing_generation: generation }, $setOnInsert: { cluster_id: clusterId, generation: 0 } },
      upsert: true,
    },
  };
}

/** Whether `stored` describes the store's entity documents of the cluster, by its cluster document. */
function storedIsBasis(stored: ClusterView | null, doc: ClusterDocument | null): boolean {
  if (stored === null) return doc === null;
  return doc !== null && doc.summary !== undefined && doc.generation >= stored.generation && (doc.writing_generation ?? 0) <= stored.generation;
}

export async function createClusterStore(options: StoreOptions): Promise<ClusterStore> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const client = new MongoClient(options.uri, {
    ...options.clientOptions,
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 10_000,
    // A frozen store answers nothing: the socket times out, the command fails, the pool recovers.
    socketTimeoutMS: timeoutMs * 2,
    waitQueueTimeoutMS: timeoutMs,
    maxPoolSize: options.maxPoolSize ?? 8,
    appName: 'fleetview',
    monitorCommands: options.onCommand !== undefined,
  });
  if (options.onCommand) {
    const onCommand = options.onCommand;
    client.on('commandStarted', (event) => onCommand(event.commandName));
  }
  await client.connect();
  const db = client.db(options.database);
  const clusters = db.collection<ClusterDocument>(collectionNames.clusters);
  const entities = Object.fromEntries(entityCollections.map((name) => [name, db.collection<StringIdDocument>(collectionNames[name])])) as Record<
    EntityCollection,
    Collection<StringIdDocument>
  >;

  // Per cluster, what this adapter knows and is writing; least recently saved first.
  const clusterWrites = new Map<string, ClusterWrites>();
  // Clusters with a write to do, in turn order.
  const queue = new Map<string, ClusterWrites>();
  const reconciles: Array<{ writes: ClusterWrites; writingSeen: number }> = [];
  let draining = false;
  let reconciling = false;
  let closed = false;
  let flushStartedAt: number | null = null;

  function writesOf(clusterId: string): ClusterWrites {
    const writes = clusterWrites.get(clusterId) ?? { clusterId, pending: null, known: null, writingSeen: 0, reconciling: false };
    clusterWrites.delete(clusterId);
    clusterWrites.set(clusterId, writes);
    return writes;
  }

  /** Forgets the fingerprints of the clusters written longest ago while there are too many. */
  function boundKnowledge(): void {
    let total = 0;
    for (const writes of clusterWrites.values()) if (writes.known) total += knownDocumentCount(writes.known);
    for (const writes of clusterWrites.values()) {
      if (total <= maxKnownDocuments) break;
      if (writes.pending || writes.reconciling || !writes.known) continue;
      total -= knownDocumentCount(writes.known);
      clusterWrites.delete(writes.clusterId);
    }
  }

  /** Keeps nothing of a cluster this adapter neither knows nor writes. */
  function forgetIfIdle(writes: ClusterWrites): void {
    if (!writes.pending && !writes.known && !writes.reconciling) clusterWrites.delete(writes.clusterId);
  }

  function finish(writes: ClusterWrites, pending: PendingWrite, applied: boolean): void {
    const result = { applied, upserted: pending.upserted, deleted: pending.deleted };
    for (const waiter of pending.waiters) waiter.resolve(result);
    pending.waiters.clear();
    if (writes.pending === pending) {
      writes.pending = null;
      queue.delete(writes.clusterId);
    }
    forgetIfIdle(writes);
  }

  function failWaiters(pending: PendingWrite, err: Error): void {
    for (const waiter of pending.waiters) waiter.reject(err);
    pending.waiters.clear();
  }

  /** Gives up a write: its waiters fail, the workflow sends its view again. */
  function drop(writes: ClusterWrites, err: Error): void {
    if (!writes.pending) return;
    failWaiters(writes.pending, err);
    writes.pending = null;
    queue.delete(writes.clusterId);
    forgetIfIdle(writes);
  }

  /** Every write command is bounded by the operation timeout, in the store and in the wait for its answer. */
  const writeOptions: GuardedBulkWriteOptions = { maxTimeMS: timeoutMs, bound: (command, what) => withTimeout(command, timeoutMs, what) };

  /** Reads every document of `filter`, a batch per reply, each reply bounded by the timeout. */
  async function readEach<T extends Document>(collection: Collection<T>, filter: Filter<T>, onBatch: (docs: T[]) => void, sort?: Document, projection?: Document): Promise<void> {
    const cursor = collection.find(filter, { batchSize: readBatchSize, maxTimeMS: timeoutMs, ...(sort ? { sort } : {}), ...(projection ? { projection } : {}) });
    try {
      while (await withTimeout(cursor.hasNext(), timeoutMs, `reading ${collection.collectionName}`)) onBatch(cursor.readBufferedDocuments() as T[]);
    } finally {
      void cursor.close().catch(() => undefined);
    }
  }

  /** Reads documents by id, a page of ids per query (the embedded store finds them by key). */
  async function readByIds<T extends Document>(collection: Collection<T>, ids: string[], onBatch: (docs: T[]) => void): Promise<void> {
    for (let start = 0; start < ids.length; start += idsPerRead) {
      await readEach(collection, { _id: { $in: ids.slice(start, start + idsPerRead) } } as Filter<T>, onBatch);
    }
  }

  /**
   * A cluster's entity documents. Shard documents (up to ~100,000 of them) are read by the ids
   * the agent documents list, a page at a time: the embedded store keeps a query's whole result
   * in memory, so a query over every shard of a large cluster would exhaust its heap.
   */
  async function readEntityDocuments(clusterId: string, onBatch: (collection: EntityCollection, docs: StringIdDocument[]) => void): Promise<void> {
    const agents: StringIdDocument[] = [];
    for (const collection of ['agents', 'agentsInfo', 'nodes'] as const) {
      await readEach(entities[collection], { cluster_id: clusterId }, (batch) => {
        if (collection === 'agents') agents.push(...batch);
        onBatch(collection, batch);
      });
    }
    await readByIds(entities.shards, listedShardDocumentIds(clusterId, agents as Partial<AgentDocument>[]), (batch) => onBatch('shards', batch));
  }

  async function readKnownDocuments(clusterId: string): Promise<KnownDocuments> {
    const known = noKnownDocuments();
    await readEntityDocuments(clusterId, (collection, batch) => {
      for (const doc of batch) known[collection].set(doc._id, fingerprint(collection, doc));
    });
    return known;
  }

  /** Reads what the store holds of a cluster whose writes this adapter cannot vouch for; one cluster at a time. */
  async function runReconciles(): Promise<void> {
    if (reconciling) return;
    reconciling = true;
    try {
      for (let next = reconciles.shift(); next && !closed; next = reconciles.shift()) {
        const { writes, writingSeen } = next;
        try {
          writes.known = await readKnownDocuments(writes.clusterId);
          writes.writingSeen = writingSeen;
          writes.reconciling = false;
          if (writes.pending) {
            writes.pending.plan = null;
            writes.pending.next = 0;
            queue.set(writes.clusterId, writes);
          }
        } catch (err) {
          writes.reconciling = false;
          drop(writes, new StoreUnavailableError(`reading what the store holds of ${writes.clusterId}: ${(err as Error).message}`));
        }
        setImmediate(() => void drain());
      }
    } finally {
      reconciling = false;
    }
  }

  /** Before a flush: is the pending write still wanted, and against what is it planned? */
  function check(writes: ClusterWrites, doc: ClusterDocument | null): void {
    const pending = writes.pending!;
    const writing = doc?.writing_generation ?? 0;
    if (writes.known !== null && writing !== writes.writingSeen) {
      // Another worker began a write since this adapter last looked: what it knew may be wrong.
      writes.known = null;
      pending.plan = null;
      pending.next = 0;
    }
    if (doc !== null && doc.generation >= pending.view.generation) {
      finish(writes, pending, false);
      return;
    }
    if (writing > pending.view.generation) {
      drop(writes, new StoreUnavailableError(`superseded: another worker is writing generation ${writing} of the cluster`));
      return;
    }
    if (writes.known === null) {
      if (!storedIsBasis(pending.stored, doc)) {
        queue.delete(writes.clusterId);
        writes.reconciling = true;
        reconciles.push({ writes, writingSeen: writing });
        void runReconciles();
        return;
      }
      writes.known = pending.stored ? knownFromView(pending.stored) : noKnownDocuments();
      writes.writingSeen = writing;
    }
    pending.stored = null;
    if (pending.plan === null) {
      pending.plan = planWrites(pending.view, writes.known);
      pending.next = 0;
    }
  }

  /** Up to a flush's worth of ops, cluster by cluster in turn order. */
  function takeBatch(candidates: ClusterWrites[]): FlushEntry[] {
    const entries: FlushEntry[] = [];
    let budget = maxOpsPerFlush;
    for (const writes of candidates) {
      if (budget <= 0) break;
      const pending = writes.pending;
      if (!pending?.plan || !writes.known || !queue.has(writes.clusterId)) continue;
      const ops = pending.plan.slice(pending.next, pending.next + budget);
      pending.next += ops.length;
      budget -= Math.max(1, ops.length);
      entries.push({ writes, pending, known: writes.known, ops, completes: pending.next === pending.plan.length, leftover: [], held: false });
    }
    return entries;
  }

  function recordOutcome(entry: FlushEntry, op: WriteOp, outcome: WriteOutcome): void {
    const known = entry.known[op.collection];
    switch (outcome) {
      case 'written':
        if (op.kind === 'upsert') {
          known.set(op._id, op.fingerprint);
          entry.pending.upserted += 1;
        } else {
          known.delete(op._id);
          entry.pending.deleted += 1;
        }
        return;
      case 'refused':
        // A document of this generation or a newer one is there, of unknown content.
        known.set(op._id, unknownFingerprint);
        return;
      case 'in doubt':
        known.set(op._id, unknownFingerprint);
        entry.leftover.push(op);
        return;
      case 'not sent':
        entry.leftover.push(op);
        return;
    }
  }

  async function writeBatch(entries: FlushEntry[]): Promise<void> {
    let failure: Error | null = null;
    // The marker first: a worker taking the cluster over must see that entities are being written.
    const marking = entries.filter((entry) => entry.ops.length > 0 && entry.writes.writingSeen < entry.pending.view.generation);
    if (marking.length > 0) {
      const { outcomes, error } = await guardedBulkWrite(
        clusters as unknown as Collection<StringIdDocument>,
        marking.map((entry) => markWriting(entry.writes.clusterId, entry.pending.view.generation)),
        writeOptions,
      );
      marking.forEach((entry, index) => {
        if (outcomes[index] === 'written') entry.writes.writingSeen = entry.pending.view.generation;
        else entry.held = true;
      });
      failure = error;
    }

    for (const collection of entityCollections) {
      const items: Array<{ entry: FlushEntry; op: WriteOp; doc: EntityDocument | null; insert: boolean }> = [];
      for (const entry of entries) {
        for (const op of entry.ops) {
          if (op.collection !== collection) continue;
          if (entry.held || failure) recordOutcome(entry, op, 'not sent');
          else if (op.kind === 'delete') items.push({ entry, op, doc: null, insert: false });
          else {
            // A document known to be absent is inserted (the cheaper write); should one be there after all, the guarded upsert follows.
            const insert = !entry.known[collection].has(op._id);
            items.push({ entry, op, doc: entityDocument(entry.writes.clusterId, entry.pending.view.generation, op.source), insert });
          }
        }
      }
      if (items.length === 0) continue;
      const operationOf = (item: (typeof items)[number]): AnyBulkWriteOperation<StringIdDocument> =>
        item.doc === null
          ? { deleteOne: { filter: { _id: item.op._id, generation: { $lt: item.entry.pending.view.generation } } } }
          : item.insert
            ? { insertOne: { document: item.doc } }
            : guardedUpsert(item.doc);
      const first = await guardedBulkWrite(entities[collection], items.map(operationOf), writeOptions);
      const outcomes = first.outcomes;
      failure = first.error;
      const present = items.flatMap((item, index) => (item.insert && outcomes[index] === 'refused' ? [index] : []));
      if (present.length > 0 && !failure) {
        const retry = await guardedBulkWrite(entities[collection], present.map((index) => operationOf({ ...items[index]!, insert: false })), writeOptions);
        present.forEach((index, i) => (outcomes[index] = retry.outcomes[i]!));
        failure = retry.error;
      } else {
        for (const index of present) outcomes[index] = 'not sent';
      }
      const writtenBy = new Map<FlushEntry, number>();
      items.forEach((item, index) => {
        recordOutcome(item.entry, item.op, outcomes[index]!);
        if (outcomes[index] === 'written') writtenBy.set(item.entry, (writtenBy.get(item.entry) ?? 0) + 1);
      });
      for (const [entry, documents] of writtenBy) options.onDocumentsWritten?.(entry.writes.clusterId, documents);
    }

    // Then the cluster document of each write whose every entity write has landed.
    const complete = entries.filter((entry) => entry.completes && !entry.held && entry.leftover.length === 0);
    if (!failure && complete.length > 0) {
      const { outcomes, error } = await guardedBulkWrite(
        clusters as unknown as Collection<StringIdDocument>,
        complete.map((entry) => {
          const view = entry.pending.view;
          return guardedUpsert(
            { _id: view.cluster_id, cluster_id: view.cluster_id, generation: view.generation, updated_at: view.refreshed_at, summary: summaryOf(view) },
            // Documents written before summaries held the whole view.
            { view: '' },
          );
        }),
        writeOptions,
      );
      complete.forEach((entry, index) => {
        // Without an answer nothing is left of the plan: the next flush writes the cluster document again.
        if (outcomes[index] === 'written' || outcomes[index] === 'refused') finish(entry.writes, entry.pending, outcomes[index] === 'written');
      });
      failure = error;
    }
    // What was not written goes back into the plan, while that plan is still the cluster's.
    for (const entry of entries) {
      if (entry.leftover.length > 0 && entry.writes.pending === entry.pending) entry.pending.plan?.push(...entry.leftover);
    }
    if (failure) throw failure;
  }

  async function drain(): Promise<void> {
    if (draining || closed) return;
    draining = true;
    try {
      while (queue.size > 0 && !closed) {
        const candidates = [...queue.values()].slice(0, maxClustersPerFlush).map((writes) => ({ writes, pending: writes.pending! }));
        flushStartedAt = Date.now();
        let entries: FlushEntry[] = [];
        try {
          const docs = await withTimeout(
            clusters
              .find(
                { _id: { $in: candidates.map(({ writes }) => writes.clusterId) } },
                { projection: { generation: 1, writing_generation: 1, 'summary.generation': 1, 'view.generation': 1 }, maxTimeMS: timeoutMs },
              )
              .toArray(),
            timeoutMs,
            'reading stored generations',
          );
          const byId = new Map(docs.map((doc) => [doc._id, doc]));
          for (const { writes } of candidates) if (writes.pending && queue.has(writes.clusterId)) check(writes, byId.get(writes.clusterId) ?? null);
          entries = takeBatch(candidates.map(({ writes }) => writes));
          await writeBatch(entries);
        } catch (err) {
          // A store that answered with an error refused these writes (the workflow sends them
          // again); one that did not answer gets them again after a pause.
          const refused = err instanceof MongoServerError;
          const reason = new StoreUnavailableError(refused ? `the store refused a write: ${(err as Error).message}` : (err as Error).message);
          for (const { writes, pending } of entries.length > 0 ? entries : candidates) {
            if (refused && writes.pending === pending) drop(writes, reason);
            else failWaiters(pending, reason);
          }
          await new Promise((resolve) => setTimeout(resolve, Math.min(timeoutMs, 1_000)));
        } finally {
          flushStartedAt = null;
          // A write that had its turn and is not done goes to the back of the line.
          for (const { writes } of entries) {
            if (queue.delete(writes.clusterId)) queue.set(writes.clusterId, writes);
          }
        }
        boundKnowledge();
      }
    } finally {
      draining = false;
    }
  }

  return {
    db,

    async ensureIndexes() {
      // The summary replaced the whole view in the cluster document, and its index with it.
      const indexes: Array<{ name?: string; key?: Document }> = await clusters
        .listIndexes()
        .toArray()
        .catch(() => []);
      if (indexes.some((index) => index.name === 'status' && index.key !== undefined && 'view.status' in index.key)) await clusters.dropIndex('status');
      await clusters.createIndex({ 'summary.status': 1 }, { name: 'summary_status' });
      for (const collection of Object.values(entities)) {
        await collection.createIndex({ cluster_id: 1 }, { name: 'cluster' });
      }
      await entities.nodes.createIndex({ cluster_id: 1, node_id: 1 }, { name: 'cluster_node' });
      await entities.agents.createIndex({ 'status.code': 1 }, { name: 'status' });
      await entities.shards.createIndex({ cluster_id: 1, shard_id: 1 }, { name: 'cluster_shard' });
    },

    saveView(view, stored = null, saveOptions = {}) {
      const deadlineMs = saveOptions.deadlineMs ?? timeoutMs;
      return new Promise<SaveResult>((resolve, reject) => {
        if (closed) {
          reject(new StoreUnavailableError('the store client is closed'));
          return;
        }
        const writes = writesOf(view.cluster_id);
        let pending = writes.pending;
        if (pending && view.generation < pending.view.generation) {
          // A newer view of the cluster is being written already.
          resolve({ applied: false, upserted: 0, deleted: 0 });
          return;
        }
        if (!pending || view.generation > pending.view.generation) {
          if (pending) failWaiters(pending, new StoreUnavailableError('superseded by a newer write of the cluster'));
          pending = { view, stored, plan: null, next: 0, waiters: new Set(), upserted: 0, deleted: 0 };
          writes.pending = pending;
          // A cluster already in line keeps its place.
          if (!writes.reconciling) queue.set(view.cluster_id, writes);
        }
        let timer: NodeJS.Timeout | undefined = undefined;
        const waiters = pending.waiters;
        const stopWaiting = () => {
          clearTimeout(timer);
          saveOptions.signal?.removeEventListener('abort', onAbort);
          waiters.delete(waiter);
        };
        const giveUp = (reason: string) => {
          stopWaiting();
          reject(new StoreUnavailableError(reason));
        };
        const onAbort = () => giveUp('cancelled');
        const waiter: Waiter = {
          resolve: (result) => {
            stopWaiting();
            resolve(result);
          },
          reject: (err) => {
            stopWaiting();
            reject(err);
          },
        };
        waiters.add(waiter);
        if (flushStartedAt !== null && Date.now() - flushStartedAt > timeoutMs) {
          // The store has hung on the flush under way: say so now; the write stays queued.
          giveUp(`the store has not answered a write for ${Date.now() - flushStartedAt} ms`);
          return;
        }
        timer = setTimeout(() => giveUp(`the store did not take the write within ${deadlineMs} ms (it goes on in the background)`), deadlineMs);
        saveOptions.signal?.addEventListener('abort', onAbort, { once: true });
        // Flush on the next turn, so the writes of refreshes finishing together share commands.
        setImmediate(() => void drain());
      });
    },

    async touchSummary(summary, touchOptions = {}) {
      if (closed) throw new StoreUnavailableError('the store client is closed');
      // A write under way here ends with the cluster document anyway (and may be older: keep its order).
      if (clusterWrites.get(summary.cluster_id)?.pending) return false;
      const clean = summaryOf(summary);
      const result = await within(
        clusters.updateOne(
          { _id: clean.cluster_id, generation: { $lt: clean.generation }, summary: { $exists: true } },
          { $set: { generation: clean.generation, updated_at: clean.refreshed_at, summary: clean } },
          { maxTimeMS: timeoutMs },
        ),
        Math.min(timeoutMs, touchOptions.deadlineMs ?? timeoutMs),
        'touching the cluster document',
        touchOptions.signal,
      ).catch((err: unknown) => {
        throw new StoreUnavailableError(`the store did not take the touch: ${(err as Error).message}`);
      });
      return result.modifiedCount === 1;
    },

    async loadView(clusterId) {
      const doc = await withTimeout(clusters.findOne({ _id: clusterId }, { maxTimeMS: timeoutMs }), timeoutMs, 'reading the cluster document');
      // No summary: a placeholder (a first write under way: nothing stored yet), or a document from before summaries.
      if (!doc?.summary) return doc?.view ?? null;
      const documents: EntityDocuments = { agents: [], agentsInfo: [], nodes: [], shards: [] };
      await readEntityDocuments(clusterId, (collection, batch) => {
        const into = documents[collection] as StringIdDocument[];
        for (const doc of batch) into.push(doc);
      });
      return viewFromDocuments(doc.summary, documents);
    },

    async listClusters() {
      const stored: StoredCluster[] = [];
      await readEach(
        clusters,
        {},
        (batch) => {
          for (const doc of batch) {
            const summary = doc.summary ?? (doc.view ? summaryOf(doc.view) : null);
            if (summary) stored.push({ _id: doc._id, cluster_id: doc.cluster_id, generation: doc.generation, updated_at: doc.updated_at ?? summary.refreshed_at, summary, writing_generation: doc.writing_generation });
          }
        },
        { _id: 1 },
        listProjection,
      );
      return stored;
    },

    async close() {
      closed = true;
      for (const writes of clusterWrites.values()) drop(writes, new StoreUnavailableError('the store client is closed'));
      queue.clear();
      reconciles.length = 0;
      await client.close();
    },
  };
}
