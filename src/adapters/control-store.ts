/**
 * The operator's controls of each cluster (settings overrides, pause, maintenance) in MongoDB,
 * collection `cluster_controls`, one document per cluster. The cluster's workflow is the only
 * writer (its update handlers); the store is where a workflow started anew resumes them, and
 * where the fleet page, the CLI's list, the gauges and discovery's retirements read them.
 * Writes carry the controls' revision and never replace a newer one.
 */
import type { Collection, Db } from 'mongodb';
import { validSettingValues, type ClusterControls, type ControlWindow } from '../domain/cluster-controls.js';
import { isDuplicateKey } from './guarded-bulk-write.js';

export const controlsCollectionName = 'cluster_controls';

export interface ControlsDocument extends ClusterControls {
  _id: string;
  updated_at: Date;
}

/** One cluster's stored controls, with when they were last written. */
export interface StoredControls extends ClusterControls {
  cluster_id: string;
  updated_at: string;
}

export interface ControlStore {
  ensureIndexes(): Promise<void>;
  load(clusterId: string): Promise<ClusterControls | null>;
  /** Writes the controls unless the stored ones have this revision or a later one. */
  save(clusterId: string, controls: ClusterControls, at: Date): Promise<void>;
  /** Clusters with a pause or a maintenance window (ended ones included until their workflow clears them). */
  listWindows(): Promise<StoredControls[]>;
  /** The stored controls of these clusters. */
  loadMany(clusterIds: readonly string[]): Promise<Map<string, StoredControls>>;
}

function windowOf(raw: unknown): ControlWindow | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const w = raw as Record<string, unknown>;
  if (typeof w.since !== 'string' || typeof w.reason !== 'string') return null;
  const actor = (typeof w.actor === 'object' && w.actor !== null ? w.actor : {}) as Record<string, unknown>;
  return {
    since: w.since,
    until: typeof w.until === 'string' ? w.until : null,
    reason: w.reason,
    actor: { user: typeof actor.user === 'string' ? actor.user : 'unknown', identity: typeof actor.identity === 'string' ? actor.identity : null },
  };
}

/** A document as the domain type; anything malformed reads as absent rather than failing a resume. */
export function controlsFromDocument(doc: Partial<ControlsDocument>): ClusterControls {
  return {
    revision: typeof doc.revision === 'number' && Number.isSafeInteger(doc.revision) ? doc.revision : 0,
    operator: validSettingValues(doc.operator),
    pause: windowOf(doc.pause),
    maintenance: windowOf(doc.maintenance),
  };
}

function stored(doc: ControlsDocument): StoredControls {
  return { cluster_id: doc._id, updated_at: doc.updated_at.toISOString(), ...controlsFromDocument(doc) };
}

export function createControlStore(db: Db): ControlStore {
  const controls: Collection<ControlsDocument> = db.collection<ControlsDocument>(controlsCollectionName);
  return {
    async ensureIndexes() {
      await controls.createIndex({ 'pause.since': 1 }, { name: 'paused', sparse: true });
      await controls.createIndex({ 'maintenance.since': 1 }, { name: 'maintenance', sparse: true });
    },

    async load(clusterId) {
      const doc = await controls.findOne({ _id: clusterId });
      return doc ? controlsFromDocument(doc) : null;
    },

    async save(clusterId, next, at) {
      const fields = { revision: next.revision, operator: next.operator, pause: next.pause, maintenance: next.maintenance, updated_at: at };
      try {
        await controls.updateOne({ _id: clusterId, revision: { $lt: next.revision } }, { $set: fields }, { upsert: true });
      } catch (err) {
        // The filter missed because the stored revision is this one or later, and the upsert then
        // collided with that document: it stands.
        if (!isDuplicateKey(err)) throw err;
      }
    },

    async listWindows() {
      const docs = await controls.find({ $or: [{ pause: { $ne: null } }, { maintenance: { $ne: null } }] }).limit(100_000).toArray();
      return docs.map(stored);
    },

    async loadMany(clusterIds) {
      const out = new Map<string, StoredControls>();
      if (clusterIds.length === 0) return out;
      for (const doc of await controls.find({ _id: { $in: [...clusterIds] } }).toArray()) out.set(doc._id, stored(doc));
      return out;
    },
  };
}

