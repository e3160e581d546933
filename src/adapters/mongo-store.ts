/**
 * fleetview's state in MongoDB (or FerretDB): one document per cluster holding its view, and one
 * per agent, agent info, node and shard for operators and UIs to query.
 *
 * Every write is an upsert guarded by generation: the filter matches only a document with an
 * older generation, so an older write (a retried or delayed activity) never overwrites a newer
 * one; when a newer document exists the upsert collides on _id (E11000) and is skipped. Entities
 * the view no longer has are deleted by generation too. Only features that real MongoDB and
 * FerretDB v1 both support are used: updateOne upserts, unordered bulkWrite, deleteMany,
 * single-field and compound indexes.
 */
import { MongoBulkWriteError, MongoClient, type MongoClientOptions, type WriteError, type AnyBulkWriteOperation, type Collection, type Db, type Document } from 'mongodb';
import type { ClusterView, ViewNode } from '../domain/cluster-view.js';

const duplicateKey = 11000;

export const collectionNames = {
  clusters: 'clusters',
  agents: 'agents',
  agentsInfo: 'agents_info',
  nodes: 'nodes',
  shards: 'shards',
} as const;

interface Guarded extends Document {
  _id: string;
  cluster_id: string;
  generation: number;
}

export interface StoredCluster extends Guarded {
  view: ClusterView;
  updated_at: string;
}

export interface ClusterStore {
  /** Creates the indexes the queries need (idempotent). */
  ensureIndexes(): Promise<void>;
  /** Writes the view and every entity it holds, guarded by the view's generation. */
  saveView(view: ClusterView): Promise<SaveResult>;
  loadView(clusterId: string): Promise<ClusterView | null>;
  listClusters(): Promise<StoredCluster[]>;
  readonly db: Db;
  close(): Promise<void>;
}

export interface SaveResult {
  /** False when a newer generation was already stored and this write changed nothing. */
  applied: boolean;
}

/** Per-entity document ids: the cluster id holds no `/`, so the prefix is unambiguous. */
export const entityId = {
  node: (clusterId: string, address: string) => `${clusterId}/${address}`,
  shard: (clusterId: string, address: string, shardId: string) => `${clusterId}/${address}#${shardId}`,
};

function guardedUpsert<T extends Guarded>(doc: T): AnyBulkWriteOperation<T> {
  const { _id, ...fields } = doc;
  return {
    updateOne: {
      filter: { _id, generation: { $lt: doc.generation } } as never,
      update: { $set: fields } as never,
      upsert: true,
    },
  };
}

function entityDocuments(view: ClusterView) {
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

/** Runs guarded upserts; collisions with newer documents are the guard working, not errors. */
async function applyGuarded<T extends Guarded>(collection: Collection<T>, docs: T[]): Promise<number> {
  if (docs.length === 0) return 0;
  try {
    const result = await collection.bulkWrite(docs.map(guardedUpsert), { ordered: false });
    return result.modifiedCount + result.upsertedCount;
  } catch (err) {
    if (err instanceof MongoBulkWriteError) {
      const errors = ([] as WriteError[]).concat(err.writeErrors as WriteError | WriteError[]);
      const real = errors.filter((e) => e.code !== duplicateKey);
      if (real.length === 0) return err.result.modifiedCount + err.result.upsertedCount;
    }
    throw err;
  }
}

export async function createMongoStore(options: {
  uri: string;
  database: string;
  serverSelectionTimeoutMs?: number;
  /** TLS and credentials besides the URI: `mongoClientOptions(config.mongodb)` from ./connections. */
  clientOptions?: MongoClientOptions;
}): Promise<ClusterStore> {
  const client = new MongoClient(options.uri, {
    ...options.clientOptions,
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 10_000,
    appName: 'fleetview',
  });
  await client.connect();
  const db = client.db(options.database);
  const clusters = db.collection<StoredCluster>(collectionNames.clusters);
  const entities = {
    agents: db.collection<Guarded>(collectionNames.agents),
    agentsInfo: db.collection<Guarded>(collectionNames.agentsInfo),
    nodes: db.collection<Guarded>(collectionNames.nodes),
    shards: db.collection<Guarded>(collectionNames.shards),
  };

  return {
    db,

    async ensureIndexes() {
      await clusters.createIndex({ 'view.status': 1 }, { name: 'status' });
      for (const collection of Object.values(entities)) {
        await collection.createIndex({ cluster_id: 1, generation: 1 }, { name: 'cluster_generation' });
      }
      await entities.nodes.createIndex({ cluster_id: 1, node_id: 1 }, { name: 'cluster_node' });
      await entities.agents.createIndex({ 'status.code': 1 }, { name: 'status' });
      await entities.shards.createIndex({ cluster_id: 1, shard_id: 1 }, { name: 'cluster_shard' });
    },

    async saveView(view) {
      // The cluster document goes first: if it is already newer, every entity is too (a newer
      // generation's activity wrote them before its cluster document), so nothing else is needed.
      const clusterDoc: StoredCluster = {
        _id: view.cluster_id,
        cluster_id: view.cluster_id,
        generation: view.generation,
        view,
        updated_at: view.refreshed_at,
      };
      const docs = entityDocuments(view);
      await Promise.all([
        applyGuarded(entities.agents, docs.agents),
        applyGuarded(entities.agentsInfo, docs.agentsInfo),
        applyGuarded(entities.nodes, docs.nodes),
        applyGuarded(entities.shards, docs.shards),
      ]);
      // Entities the view no longer holds (retired nodes, removed shards, lost info).
      const stale = { cluster_id: view.cluster_id, generation: { $lt: view.generation } };
      await Promise.all(Object.values(entities).map((collection) => collection.deleteMany(stale)));
      const written = await applyGuarded(clusters, [clusterDoc]);
      return { applied: written > 0 };
    },

    async loadView(clusterId) {
      const doc = await clusters.findOne({ _id: clusterId });
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
