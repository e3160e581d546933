/**
 * What the fleet page reads from the store, and only that: projections of the summary fields
 * (never a cluster's node list or entity documents), bounded in count and in time.
 *
 * The fleet page costs four queries however large the fleet: the cluster documents' summaries,
 * the discovery documents without their records' node lists, the discoveries' run outcomes
 * and holds, and the operator's pause and maintenance windows (only the clusters that have one).
 * Each is read in batches of 1,000 by `_id` order, with `maxTimeMS` and a deadline on
 * every batch, and at most `maxClusters` documents: past that the page says the list was cut.
 * A cluster page reads its three documents by `_id` (a key lookup on every store).
 */
import type { Collection, Db, Document } from 'mongodb';
import { validSettingValues, type ClusterControls, type ControlWindow, type SettingValues } from '../domain/cluster-controls.js';
import type { RetirementHold } from '../domain/retirement-guard.js';
import { controlsCollectionName, controlsFromDocument, type ControlsDocument } from './control-store.js';
import { within } from './deadline.js';
import { discoveryCollectionNames } from './discovery-store/index.js';
import { collectionNames, summaryOf, type ClusterSummary } from './store-documents.js';

/** A cluster's discovery document, projected (no node list): what the fleet and cluster pages show. */
export interface DiscoveryFacts {
  cluster_id: string;
  display_name: string | null;
  discovery: string;
  held_by: string[];
  missing_since: string | null;
  retired_at: string | null;
  /** Nodes the stored record lists (only read for one cluster: counting them needs the list). */
  record_nodes?: number;
  /** The discovery's settings layer of the cluster (only read for one cluster). */
  record_settings?: SettingValues;
}

/** A cluster's stored pause and maintenance windows (ended ones included until its workflow clears them). */
export interface ControlFacts {
  cluster_id: string;
  pause: ControlWindow | null;
  maintenance: ControlWindow | null;
}

/** A discovery's last run and held retirements: a banner on the fleet page when something needs an operator. */
export interface DiscoveryHealth {
  name: string;
  enabled: boolean;
  last_run: { at: string; ok: boolean; error: string | null } | null;
  hold: RetirementHold | null;
}

export interface FleetSnapshot {
  summaries: ClusterSummary[];
  discoveries: DiscoveryFacts[];
  health: DiscoveryHealth[];
  /** Clusters with a stored pause or maintenance window. */
  controls: ControlFacts[];
  /** Why the windows could not be read (the page shows the rest and says so), or null. */
  controlsError: string | null;
  /** True when a collection held more than `maxClusters` documents: the rest were not read. */
  cut: boolean;
  /** Store queries this snapshot took. */
  queries: number;
}

export interface FleetReads {
  snapshot(): Promise<FleetSnapshot>;
  /** One cluster's summary, discovery facts and stored controls (three reads by key). */
  cluster(clusterId: string): Promise<{ summary: ClusterSummary | null; discovery: DiscoveryFacts | null; controls: ClusterControls | null }>;
}

export interface FleetReadsOptions {
  db: Db;
  /** Bound of each batch (the store's FLEETVIEW_MONGODB_TIMEOUT_MS). */
  timeoutMs: number;
  /** Documents read per collection at most. */
  maxClusters?: number;
}

const batchSize = 1_000;
export const defaultMaxClusters = 20_000;

const iso = (value: unknown): string | null => (value instanceof Date ? value.toISOString() : typeof value === 'string' ? value : null);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);

const summaryFields = ['cluster_id', 'display_name', 'generation', 'refreshed_at', 'status', 'kinds', 'nodes', 'agents_down', 'nodes_down', 'shards_count', 'shards_primaries'];
/** The summary's fields, and the pre-summary documents' view top-level fields (never its members or shards). */
const clusterProjection: Document = Object.fromEntries(summaryFields.flatMap((field): Array<[string, number]> => [[`summary.${field}`, 1], [`view.${field}`, 1]]));
const discoveryProjection = { discovery: 1, held_by: 1, missing_since: 1, retired_at: 1, 'record.display_name': 1 };

function summaryFrom(doc: Document): ClusterSummary | null {
  const source = (doc.summary ?? doc.view) as ClusterSummary | undefined;
  if (!source || typeof source.cluster_id !== 'string') return null;
  return summaryOf(source);
}

function discoveryFrom(doc: Document): DiscoveryFacts {
  const record = doc.record as { display_name?: unknown; nodes?: unknown } | undefined;
  return {
    cluster_id: String(doc._id),
    display_name: typeof record?.display_name === 'string' && record.display_name !== '' ? record.display_name : null,
    discovery: typeof doc.discovery === 'string' ? doc.discovery : '-',
    held_by: strings(doc.held_by),
    missing_since: iso(doc.missing_since),
    retired_at: iso(doc.retired_at),
    ...(Array.isArray(record?.nodes) ? { record_nodes: record.nodes.length } : {}),
    ...(record && 'settings' in record ? { record_settings: validSettingValues((record as { settings?: unknown }).settings) } : {}),
  };
}

const controlsProjection = { pause: 1, maintenance: 1 };
/** Only the clusters an operator paused or put in maintenance (the store's sparse indexes cover it). */
const controlsFilter: Document = { $or: [{ pause: { $ne: null } }, { maintenance: { $ne: null } }] };

export function createFleetReads(options: FleetReadsOptions): FleetReads {
  const { db, timeoutMs } = options;
  const maxClusters = options.maxClusters ?? defaultMaxClusters;

  /** Up to `limit` documents of a collection, by `_id`, each batch bounded. */
  async function readAll(collection: Collection<Document>, projection: Document, limit: number, filter: Document = {}): Promise<{ docs: Document[]; cut: boolean }> {
    const cursor = collection.find(filter, { projection, sort: { _id: 1 }, batchSize, limit: limit + 1, maxTimeMS: timeoutMs });
    const docs: Document[] = [];
    try {
      while (await within(cursor.hasNext(), timeoutMs, `reading ${collection.collectionName}`)) docs.push(...cursor.readBufferedDocuments());
    } finally {
      void cursor.close().catch(() => undefined);
    }
    return docs.length > limit ? { docs: docs.slice(0, limit), cut: true } : { docs, cut: false };
  }

  return {
    async snapshot() {
      const [clusters, discoveries, settings, controls] = await Promise.all([
        readAll(db.collection(collectionNames.clusters), clusterProjection, maxClusters),
        readAll(db.collection(discoveryCollectionNames.records), discoveryProjection, maxClusters),
        readAll(db.collection(discoveryCollectionNames.settings), { enabled: 1, 'last_run.at': 1, 'last_run.ok': 1, 'last_run.error': 1, retirement_hold: 1 }, 1_000),
        // The windows are a column and a filter, not the page itself: a failing read is a note.
        readAll(db.collection(controlsCollectionName), controlsProjection, maxClusters, controlsFilter).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))),
      ]);
      return {
        summaries: clusters.docs.map(summaryFrom).filter((summary): summary is ClusterSummary => summary !== null),
        discoveries: discoveries.docs.map(discoveryFrom),
        health: settings.docs.map((doc) => {
          const lastRun = doc.last_run as { at?: unknown; ok?: unknown; error?: unknown } | null | undefined;
          const hold = doc.retirement_hold as (Omit<RetirementHold, 'since' | 'at'> & { since: unknown; at: unknown }) | null | undefined;
          return {
            name: String(doc._id),
            enabled: doc.enabled === true,
            last_run: lastRun ? { at: iso(lastRun.at) ?? '-', ok: lastRun.ok === true, error: typeof lastRun.error === 'string' ? lastRun.error : null } : null,
            hold: hold ? { held: Number(hold.held), previous: Number(hold.previous), listed: Number(hold.listed), since: iso(hold.since) ?? '-', at: iso(hold.at) ?? '-' } : null,
          };
        }),
        controls:
          controls instanceof Error
            ? []
            : controls.docs.map((doc) => {
                const { pause, maintenance } = controlsFromDocument(doc);
                return { cluster_id: String(doc._id), pause, maintenance };
              }),
        controlsError: controls instanceof Error ? controls.message.split('\n')[0]!.slice(0, 300) : null,
        cut: clusters.cut || discoveries.cut || (!(controls instanceof Error) && controls.cut),
        queries: 4,
      };
    },

    async cluster(clusterId) {
      const [clusterDoc, discoveryDoc, controlsDoc] = await Promise.all([
        within(db.collection(collectionNames.clusters).findOne({ _id: clusterId } as Document, { projection: clusterProjection, maxTimeMS: timeoutMs }), timeoutMs, 'reading the cluster document'),
        // The node list is read here, for its count: one cluster's record, by key.
        within(
          db.collection(discoveryCollectionNames.records).findOne({ _id: clusterId } as Document, { projection: { ...discoveryProjection, 'record.nodes': 1, 'record.settings': 1 }, maxTimeMS: timeoutMs }),
          timeoutMs,
          'reading the discovery document',
        ),
        within(db.collection(controlsCollectionName).findOne({ _id: clusterId } as Document, { maxTimeMS: timeoutMs }), timeoutMs, 'reading the cluster\'s controls'),
      ]);
      return {
        summary: clusterDoc ? summaryFrom(clusterDoc) : null,
        discovery: discoveryDoc ? discoveryFrom(discoveryDoc) : null,
        controls: controlsDoc ? controlsFromDocument(controlsDoc as unknown as Partial<ControlsDocument>) : null,
      };
    },
  };
}
