/**
 * fleetview's state in MongoDB (or the embedded MongoDB-wire store): one document per cluster
 * holding its view, and one per agent, agent info, node and shard for operators and UIs to query.
 *
 * Writes follow change. A refresh hands over its new view and the view last written; only the
 * entity documents whose state differs are upserted and only those that went are deleted; the
 * cluster document is written with them (the workflow also sends it at a bounded rate, so its
 * view's measurements and refresh time stay fresh). A quiet refresh writes nothing.
 *
 * Writes from many refreshes are merged into few bulk commands (group commit): callers wait for
 * the flush holding their writes, up to their own deadline. One flush runs at a time, each command
 * holds at most `maxOpsPerCommand` statements, and every command is bounded by the operation
 * timeout, so a slow, hung or dead store costs callers a bounded wait and the store a bounded load,
 * never a stalled worker (the embedded FerretDB deadlocks when many updates run at once:
 * ../shared/design/store-writes.md). While a flush has been stuck past the timeout, new writes fail
 * at once: the workflow keeps the view and sends it again on a later refresh.
 *
 * Every write is guarded by generation: an upsert matches only an older document, so an older write
 * (a delayed flush of another worker) never overwrites a newer one; when a newer document exists
 * the upsert collides on _id (E11000), which is the guard working. Only features real MongoDB and
 * FerretDB v1 share are used: updateOne upserts and deleteOne in unordered bulkWrite, indexes.
 */
import { MongoBulkWriteError, MongoClient, type AnyBulkWriteOperation, type Collection, type Db, type Document, type MongoClientOptions, type WriteError } from 'mongodb';
import type { ClusterView, ViewNode } from '../domain/cluster-view.js';

const duplicateKey = 11000;

export const collectionNames = {
  clusters: 'clusters',
  agents: 'agents',
  agentsInfo: 'agents_info',
  nodes: 'nodes',
  shards: 'shards',
} as const;

type EntityCollection = Exclude<keyof typeof collectionNames, 'clusters'>;
const entityCollections: EntityCollection[] = ['agents', 'agentsInfo', 'nodes', 'shards'];

interface Guarded extends Document {
  _id: string;
  cluster_id: string;
  generation: number;
}

export interface StoredCluster extends Guarded {
  view: ClusterView;
  updated_at: string;
}

export interface SaveResult {
  /** False when a newer generation of the cluster was already stored and this write changed nothing. */
  applied: boolean;
  /** Entity documents upserted and deleted by this save (the cluster document not counted). */
  upserted: number;
  deleted: number;
}

export interface SaveOptions {
  /** Give up waiting after this long (the write may still land later; it is idempotent). */
  deadlineMs?: number;
  /** Aborts the wait (Temporal cancelled the activity). */
  signal?: AbortSignal;
}

export interface ClusterStore {
  /** Creates the indexes the queries need (idempotent). */
  ensureIndexes(): Promise<void>;
  /**
   * Writes the cluster document with `view`, and the entity documents that differ from those of
   * `stored` (the view last written; null: write them all). Rejects with StoreUnavailableError
   * when the store does not take it in time.
   */
  saveView(view: ClusterView, stored?: ClusterView | null, options?: SaveOptions): Promise<SaveResult>;
  loadView(clusterId: string): Promise<ClusterView | null>;
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
  /** TLS and credentials besides the URI: `mongoStoreOptions(config.mongodb)` from ./connections. */
  clientOptions?: MongoClientOptions;
}

/** Per-entity document ids: the cluster id holds no `/`, so the prefix is unambiguous. */
export const entityId = {
  node: (clusterId: string, address: string) => `${clusterId}/${address}`,
  shard: (clusterId: string, address: string, shardId: string) => `${clusterId}/${address}#${shardId}`,
};

/** FerretDB holds one pooled connection per matched update until its command ends: stay far below its pool of 100. */
const maxOpsPerCommand = 50;
/** A flush takes the writes of many refreshes, up to this many statements. */
const maxOpsPerFlush = 1_000;

type EntityDocuments = Record<EntityCollection, Guarded[]>;

function entityDocuments(view: ClusterView): EntityDocuments {
  const base = (node: ViewNode) => ({
    _id: entityId.node(view.cluster_id, node.address),
    cluster_id: view.cluster_id,
    generation: view.generation,
    address: node.address,
    node_id: node.node_id,
  });
  const agents = view.members.map((node) => ({
    ...base(node),
    status: node.status,
    last_error: node.last_error,
    last_successful_refresh_at: node.last_successful_refresh_at,
    left_discovery_at: node.left_discovery_at,
  }));
  const agentsInfo = view.members.flatMap((node) => (node.agent ? [{ ...base(node), version: node.agent.version }] : []));
  const nodes = view.members.flatMap((node) =>
    node.datastore
      ? [
          {
            ...base(node),
            kind: node.datastore.kind,
            version: node.datastore.version,
            datastore_cluster_id: node.datastore.cluster_id,
            cluster_display_name: node.datastore.cluster_display_name,
            status: node.status,
          },
        ]
      : [],
  );
  const shards = view.members.flatMap((node) =>
    (node.shards ?? []).map((shard) => ({
      _id: entityId.shard(view.cluster_id, node.address, shard.id),
      cluster_id: view.cluster_id,
      generation: view.generation,
      address: node.address,
      node_id: node.node_id,
      shard_id: shard.id,
      role: shard.role,
      commit_offset: shard.commit_offset,
      lag: shard.lag,
    })),
  );
  return { agents, agentsInfo, nodes, shards };
}

/**
 * An entity document without its measurements (generation, last success, error text, offsets,
 * lag): written again only when this differs. Those fields are as of the document's last write.
 */
function materialDocument(doc: Guarded): string {
  const { generation: _generation, last_error: _error, last_successful_refresh_at: _success, commit_offset: _offset, lag: _lag, ...rest } = doc;
  const status = rest.status as { code: string } | undefined;
  return JSON.stringify(status ? { ...rest, status: { code: status.code } } : rest);
}

interface WritePlan {
  cluster: StoredCluster;
  upserts: Array<{ collection: EntityCollection; doc: Guarded }>;
  deletes: Array<{ collection: EntityCollection; _id: string }>;
}

/** The writes that take the store from `stored` to `view`. */
export function planWrites(view: ClusterView, stored: ClusterView | null): WritePlan {
  const next = entityDocuments(view);
  const before = stored ? entityDocuments(stored) : null;
  const plan: WritePlan = {
    cluster: { _id: view.cluster_id, cluster_id: view.cluster_id, generation: view.generation, view, updated_at: view.refreshed_at },
    upserts: [],
    deletes: [],
  };
  for (const collection of entityCollections) {
    const previous = new Map((before?.[collection] ?? []).map((doc) => [doc._id, materialDocument(doc)]));
    for (const doc of next[collection]) {
      if (previous.get(doc._id) !== materialDocument(doc)) plan.upserts.push({ collection, doc });
      previous.delete(doc._id);
    }
    for (const _id of previous.keys()) plan.deletes.push({ collection, _id });
  }
  return plan;
}

function guardedUpsert(doc: Guarded): AnyBulkWriteOperation<Guarded> {
  const { _id, ...fields } = doc;
  return { updateOne: { filter: { _id, generation: { $lt: doc.generation } }, update: { $set: fields }, upsert: true } };
}

function guardedDelete(_id: string, generation: number): AnyBulkWriteOperation<Guarded> {
  return { deleteOne: { filter: { _id, generation: { $lt: generation } } } };
}

interface PendingSave {
  plan: WritePlan;
  /** The caller waiting for this write, until its deadline; null once it stopped waiting. */
  waiter: { resolve(result: SaveResult): void; reject(err: Error): void } | null;
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(`${what} timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export async function createMongoStore(options: StoreOptions): Promise<ClusterStore> {
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
  const clusters = db.collection<StoredCluster>(collectionNames.clusters);
  const entities = Object.fromEntries(
    entityCollections.map((name) => [name, db.collection<Guarded>(collectionNames[name])]),
  ) as Record<EntityCollection, Collection<Guarded>>;

  // Writes not yet taken by a flush, at most one per cluster: a newer view of a cluster replaces
  // its queued write (its plan covers everything since the same stored view). A caller that stops
  // waiting leaves its write queued: it lands late rather than never, and the store's backlog
  // stays bounded by the number of clusters however long it hangs.
  const queue = new Map<string, PendingSave>();
  let flushStartedAt: number | null = null;

  /** Runs the operations in commands of bounded size; returns the indexes of operations a newer document refused. */
  async function runBulk(collection: Collection<Guarded>, operations: AnyBulkWriteOperation<Guarded>[]): Promise<Set<number>> {
    const refused = new Set<number>();
    for (let start = 0; start < operations.length; start += maxOpsPerCommand) {
      const chunk = operations.slice(start, start + maxOpsPerCommand);
      try {
        await withTimeout(collection.bulkWrite(chunk, { ordered: false, maxTimeMS: timeoutMs }), timeoutMs, `a write to ${collection.collectionName}`);
      } catch (err) {
        if (!(err instanceof MongoBulkWriteError)) throw err;
        const errors = ([] as WriteError[]).concat(err.writeErrors as WriteError | WriteError[]);
        const real = errors.filter((e) => e.code !== duplicateKey);
        if (real.length > 0) throw err;
        for (const e of errors) refused.add(start + e.index);
      }
    }
    return refused;
  }

  async function flush(batch: PendingSave[]): Promise<Map<PendingSave, SaveResult>> {
    const results = new Map(batch.map((save) => [save, { applied: true, upserted: save.plan.upserts.length, deleted: save.plan.deletes.length }]));
    // A cluster already stored at this generation or later (another worker's newer write, or
    // this very write retried) is left alone: entities too, so no deleted one comes back.
    const current = await withTimeout(
      clusters.find({ _id: { $in: batch.map((save) => save.plan.cluster._id) } }, { projection: { generation: 1 }, maxTimeMS: timeoutMs }).toArray(),
      timeoutMs,
      'reading stored generations',
    );
    const storedGeneration = new Map(current.map((doc) => [doc._id, doc.generation]));
    const writes = batch.filter((save) => {
      const newest = storedGeneration.get(save.plan.cluster._id);
      if (newest === undefined || newest < save.plan.cluster.generation) return true;
      results.set(save, { applied: false, upserted: 0, deleted: 0 });
      return false;
    });
    // Entities first, the cluster document last: a stored cluster document implies its entities are.
    for (const collection of entityCollections) {
      const upserts = writes.flatMap((save) => save.plan.upserts.filter((u) => u.collection === collection).map((u) => guardedUpsert(u.doc)));
      if (upserts.length > 0) await runBulk(entities[collection], upserts);
      const deletes = writes.flatMap((save) =>
        save.plan.deletes.filter((d) => d.collection === collection).map((d) => guardedDelete(d._id, save.plan.cluster.generation)),
      );
      if (deletes.length > 0) await runBulk(entities[collection], deletes);
    }
    if (writes.length > 0) {
      const refused = await runBulk(clusters as unknown as Collection<Guarded>, writes.map((save) => guardedUpsert(save.plan.cluster)));
      for (const index of refused) results.set(writes[index]!, { applied: false, upserted: 0, deleted: 0 });
    }
    return results;
  }

  function takeBatch(): PendingSave[] {
    const batch: PendingSave[] = [];
    let ops = 0;
    for (const [clusterId, save] of queue) {
      if (batch.length > 0 && ops + opsOf(save) > maxOpsPerFlush) break;
      queue.delete(clusterId);
      ops += opsOf(save);
      batch.push(save);
    }
    return batch;
  }

  const opsOf = (save: PendingSave) => 1 + save.plan.upserts.length + save.plan.deletes.length;

  async function drain(): Promise<void> {
    if (flushStartedAt !== null) return;
    while (queue.size > 0) {
      const batch = takeBatch();
      flushStartedAt = Date.now();
      try {
        const results = await flush(batch);
        for (const save of batch) save.waiter?.resolve(results.get(save)!);
      } catch (err) {
        const reason = err instanceof StoreUnavailableError ? err.message : `the store refused a write: ${(err as Error).message}`;
        // Not retried here: each workflow sends its view again with its next refresh.
        for (const save of batch) save.waiter?.reject(new StoreUnavailableError(reason));
        // The store is failing: give it a moment before the next flush.
        await new Promise((resolve) => setTimeout(resolve, Math.min(timeoutMs, 1_000)));
      } finally {
        flushStartedAt = null;
      }
    }
  }

  return {
    db,

    async ensureIndexes() {
      await clusters.createIndex({ 'view.status': 1 }, { name: 'status' });
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
        let timer: NodeJS.Timeout | undefined = undefined;
        const save: PendingSave = { plan: planWrites(view, stored), waiter: null };
        const stopWaiting = () => {
          clearTimeout(timer);
          saveOptions.signal?.removeEventListener('abort', onAbort);
          save.waiter = null;
        };
        const giveUp = (reason: string) => {
          stopWaiting();
          reject(new StoreUnavailableError(reason));
        };
        const onAbort = () => giveUp('cancelled');
        save.waiter = {
          resolve: (result) => {
            stopWaiting();
            resolve(result);
          },
          reject: (err) => {
            stopWaiting();
            reject(err);
          },
        };
        const replaced = queue.get(view.cluster_id);
        replaced?.waiter?.reject(new StoreUnavailableError('superseded by a newer write of the cluster'));
        queue.set(view.cluster_id, save);
        if (flushStartedAt !== null && Date.now() - flushStartedAt > timeoutMs) {
          // The store has hung on the flush under way: say so now; the write stays queued.
          giveUp(`the store has not answered a write for ${Date.now() - flushStartedAt} ms`);
          return;
        }
        timer = setTimeout(() => giveUp(`the store did not take the write within ${deadlineMs} ms`), deadlineMs);
        saveOptions.signal?.addEventListener('abort', onAbort, { once: true });
        // Flush on the next turn, so the writes of refreshes finishing together share commands.
        setImmediate(() => void drain());
      });
    },

    async loadView(clusterId) {
      const doc = await clusters.findOne({ _id: clusterId }, { maxTimeMS: timeoutMs });
      return doc?.view ?? null;
    },

    async listClusters() {
      return clusters.find({}).sort({ _id: 1 }).toArray();
    },

    async close() {
      await client.close();
    },
  };
}
