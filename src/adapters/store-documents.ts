/**
 * What fleetview keeps of a cluster in the store, as pure functions beside the I/O of
 * ./cluster-store.ts: the cluster document's summary (the view's top-level fields, nothing that
 * grows with the cluster), and one document per agent, agent info, node and shard allocation,
 * which between them hold every field of every ViewNode, so a view is rebuilt from them whole.
 *
 * Writes follow change: a document is written again only when its material state differs
 * (`fingerprint`); measurements (generation, last success, error texts, offsets, lag) are those
 * of the document's last write.
 */
import { compareStrings, roleKey } from '../domain/canonical-forms.js';
import { summarizeShards } from '../domain/aggregate.js';
import type { ClusterView, ViewNode } from '../domain/cluster-view.js';
import type { AgentInfo, NodeStatus, Offset, Shard, ShardRole } from '../domain/observation.js';

export const collectionNames = {
  clusters: 'clusters',
  agents: 'agents',
  agentsInfo: 'agents_info',
  nodes: 'nodes',
  shards: 'shards',
} as const;

export type EntityCollection = Exclude<keyof typeof collectionNames, 'clusters'>;
export const entityCollections: readonly EntityCollection[] = ['agents', 'agentsInfo', 'nodes', 'shards'];

/** Per-entity document ids: the cluster id holds no `/`, so the prefix is unambiguous. */
export const entityId = {
  node: (clusterId: string, address: string) => `${clusterId}/${address}`,
  shard: (clusterId: string, address: string, shardId: string) => `${clusterId}/${address}#${shardId}`,
};

/** The view without its per-node and per-shard parts: what the cluster document holds. */
export type ClusterSummary = Omit<ClusterView, 'shards' | 'members'>;

export function summaryOf(view: ClusterSummary): ClusterSummary {
  return {
    cluster_id: view.cluster_id,
    display_name: view.display_name,
    generation: view.generation,
    refreshed_at: view.refreshed_at,
    status: view.status,
    kinds: view.kinds,
    nodes: view.nodes,
    agents_down: view.agents_down,
    nodes_down: view.nodes_down,
    shards_count: view.shards_count,
    shards_primaries: view.shards_primaries,
  };
}

export interface GuardedDocument {
  _id: string;
  cluster_id: string;
  /** The generation of the document's last write: writes of older generations never overwrite it. */
  generation: number;
}

interface NodeDocument extends GuardedDocument {
  address: string;
  node_id: string | null;
}

/** The view's own per-node fields, as the member has them. */
type AgentFields = Pick<ViewNode, 'discovered' | 'status' | 'last_error' | 'last_successful_refresh_at' | 'first_seen_at' | 'left_discovery_at' | 'shards_error'>;

export interface AgentDocument extends NodeDocument, AgentFields {
  /**
   * The ids of the shards the node last reported (sorted); null until it has reported once. The
   * node's shard documents are read by these ids: a read by key, never a scan of the collection.
   */
  shard_ids: string[] | null;
}

export interface AgentInfoDocument extends NodeDocument {
  version: AgentInfo['version'];
}

export interface DatastoreDocument extends NodeDocument {
  kind: string;
  version: string;
  datastore_cluster_id: string;
  datastore_node_id: string;
  cluster_display_name: string | null;
  status: NodeStatus;
}

export interface ShardDocument extends NodeDocument {
  shard_id: string;
  role: ShardRole;
  commit_offset: Offset | null;
  lag: Offset | null;
}

export interface EntityDocuments {
  agents: AgentDocument[];
  agentsInfo: AgentInfoDocument[];
  nodes: DatastoreDocument[];
  shards: ShardDocument[];
}

export type EntityDocument = EntityDocuments[EntityCollection][number];

/** Where a document's content comes from: the view's node, and the shard for a shard document. */
interface DocumentSource {
  collection: EntityCollection;
  node: ViewNode;
  shard: Shard | null;
}

/** The documents of one node, as the view has it (its shards' too, unless told not). */
function* nodeSources(node: ViewNode, withShards = true): Generator<DocumentSource> {
  yield { collection: 'agents', node, shard: null };
  if (node.agent) yield { collection: 'agentsInfo', node, shard: null };
  if (node.datastore) yield { collection: 'nodes', node, shard: null };
  if (withShards) for (const shard of node.shards ?? []) yield { collection: 'shards', node, shard };
}

function sourceId(clusterId: string, source: DocumentSource): string {
  return source.shard ? entityId.shard(clusterId, source.node.address, source.shard.id) : entityId.node(clusterId, source.node.address);
}

/** The document `source` is written as, at `generation`. */
export function entityDocument(clusterId: string, generation: number, source: DocumentSource): EntityDocument {
  const { node, shard } = source;
  const base = { _id: sourceId(clusterId, source), cluster_id: clusterId, generation, address: node.address, node_id: node.node_id };
  switch (source.collection) {
    case 'agents':
      return {
        ...base,
        discovered: node.discovered,
        status: node.status,
        last_error: node.last_error,
        last_successful_refresh_at: node.last_successful_refresh_at,
        first_seen_at: node.first_seen_at,
        left_discovery_at: node.left_discovery_at,
        shard_ids: node.shards?.map((shard) => shard.id) ?? null,
        shards_error: node.shards_error,
      } satisfies AgentDocument;
    case 'agentsInfo':
      return { ...base, version: node.agent!.version } satisfies AgentInfoDocument;
    case 'nodes': {
      const datastore = node.datastore!;
      return {
        ...base,
        kind: datastore.kind,
        version: datastore.version,
        datastore_cluster_id: datastore.cluster_id,
        datastore_node_id: datastore.node_id,
        cluster_display_name: datastore.cluster_display_name,
        status: node.status,
      } satisfies DatastoreDocument;
    }
    case 'shards':
      return { ...base, shard_id: shard!.id, role: shard!.role, commit_offset: shard!.commit_offset, lag: shard!.lag } satisfies ShardDocument;
  }
}

/** Every document of the view (generation as the view's). */
export function entityDocuments(view: ClusterView): EntityDocuments {
  const documents: EntityDocuments = { agents: [], agentsInfo: [], nodes: [], shards: [] };
  for (const node of view.members) {
    for (const source of nodeSources(node)) {
      (documents[source.collection] as EntityDocument[]).push(entityDocument(view.cluster_id, view.generation, source));
    }
  }
  return documents;
}

/** A field missing from a stored document (written before the field existed): never equal to a value. */
const missing = '\u0000missing';
const orMissing = (value: unknown) => (value === undefined ? missing : value);

/** The node's part of every one of its documents' material state. */
function nodeState(address: unknown, nodeId: unknown): string {
  return JSON.stringify([orMissing(address), orMissing(nodeId)]);
}

function shardState(shardId: unknown, role: ShardRole | undefined): string {
  return JSON.stringify([orMissing(shardId), role === undefined ? missing : roleKey(role)]);
}

/**
 * A document's material state, as a string: the fields that are state, not measurement. Read
 * field by field (not the whole document) so that a stored document compares equal to a built
 * one whatever its field order, and one written before a field existed compares unequal.
 */
export function materialState(collection: EntityCollection, doc: Partial<EntityDocument>): string {
  const d = doc as Partial<AgentDocument & AgentInfoDocument & DatastoreDocument & ShardDocument>;
  const node = nodeState(d.address, d.node_id);
  switch (collection) {
    case 'agents':
      return (
        node +
        JSON.stringify(
          [
            d.discovered?.node_id,
            d.discovered?.node_class,
            d.discovered?.node_group,
            d.status?.code,
            d.first_seen_at,
            d.left_discovery_at,
            d.shard_ids,
            // The wording of a failure is a measurement; whether there is one is state.
            d.shards_error === undefined ? undefined : d.shards_error !== null,
          ].map(orMissing),
        )
      );
    case 'agentsInfo':
      return node + JSON.stringify([d.version?.checkout, d.version?.number, d.version?.taint].map(orMissing));
    case 'nodes':
      return node + JSON.stringify([d.kind, d.version, d.datastore_cluster_id, d.datastore_node_id, d.cluster_display_name, d.status?.code].map(orMissing));
    case 'shards':
      return node + shardState(d.shard_id, d.role);
  }
}

/** What the store holds for a document, in little memory (a view of 100,000 shards: ~106,000 of them). */
export type Fingerprint = number;
/** The document may or may not be in the store, in any state: written (or deleted) whatever the plan. */
export const unknownFingerprint: Fingerprint = -1;

/** 53 bits of a fast string hash (cyrb53): a changed document taken for unchanged is a 1 in 2^53 chance. */
function hash53(text: string): Fingerprint {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

export function fingerprint(collection: EntityCollection, doc: Partial<EntityDocument>): Fingerprint {
  return hash53(materialState(collection, doc));
}

/** The entity documents of one cluster the store holds, by collection and id. */
export type KnownDocuments = Record<EntityCollection, Map<string, Fingerprint>>;

export function noKnownDocuments(): KnownDocuments {
  return { agents: new Map(), agentsInfo: new Map(), nodes: new Map(), shards: new Map() };
}

export function knownDocumentCount(known: KnownDocuments): number {
  return entityCollections.reduce((sum, collection) => sum + known[collection].size, 0);
}

/**
 * Calls `each` with every document of the view: its id, fingerprint and source. Shard documents
 * (nearly all of a large cluster's) are fingerprinted without being built: the same state as
 * `materialState` of the built document, from the same two functions.
 */
function forEachDocument(view: ClusterView, each: (source: DocumentSource, _id: string, print: Fingerprint) => void): void {
  for (const node of view.members) {
    const nodePart = nodeState(node.address, node.node_id);
    for (const source of nodeSources(node, false)) {
      const doc = entityDocument(view.cluster_id, view.generation, source);
      each(source, doc._id, fingerprint(source.collection, doc));
    }
    const idPrefix = entityId.shard(view.cluster_id, node.address, '');
    for (const shard of node.shards ?? []) {
      each({ collection: 'shards', node, shard }, idPrefix + shard.id, hash53(nodePart + shardState(shard.id, shard.role)));
    }
  }
}

/** What the store holds once `view` is written whole. */
export function knownFromView(view: ClusterView): KnownDocuments {
  const known = noKnownDocuments();
  forEachDocument(view, (source, _id, print) => known[source.collection].set(_id, print));
  return known;
}

export type WriteOp =
  | { kind: 'upsert'; collection: EntityCollection; _id: string; fingerprint: Fingerprint; source: DocumentSource }
  | { kind: 'delete'; collection: EntityCollection; _id: string };

/**
 * The writes that take the store from `known` to `view`: an upsert for every document whose
 * material state differs (or is unknown), node by node (its agent document before its shards'),
 * then a delete for every document the view no longer has.
 * Upserts carry where their content comes from, not the document: a plan of 100,000 writes
 * holds no 100,000 documents while it waits for its turn.
 */
export function planWrites(view: ClusterView, known: KnownDocuments): WriteOp[] {
  const ops: WriteOp[] = [];
  const kept: Record<EntityCollection, Set<string>> = { agents: new Set(), agentsInfo: new Set(), nodes: new Set(), shards: new Set() };
  forEachDocument(view, (source, _id, print) => {
    kept[source.collection].add(_id);
    if (known[source.collection].get(_id) !== print) ops.push({ kind: 'upsert', collection: source.collection, _id, fingerprint: print, source });
  });
  // Shard documents first: none is left that no agent document lists should the rest not land.
  for (const collection of [...entityCollections].reverse()) {
    for (const _id of known[collection].keys()) if (!kept[collection].has(_id)) ops.push({ kind: 'delete', collection, _id });
  }
  return ops;
}

/**
 * The view the documents describe: the summary's fields, members from the agent documents
 * (with their agent info, datastore and listed shard documents) sorted by address, shards
 * summarised as aggregate does. Documents no agent document leads to (a write under way, or
 * one given up) are left out.
 */
export function viewFromDocuments(summary: ClusterSummary, documents: EntityDocuments): ClusterView {
  const byAddress = <T extends NodeDocument>(docs: T[]) => new Map(docs.map((doc) => [doc.address, doc]));
  const infos = byAddress(documents.agentsInfo);
  const datastores = byAddress(documents.nodes);
  const shardsById = new Map(documents.shards.map((doc) => [doc._id, doc]));
  const members = documents.agents
    .map((agent): ViewNode => {
      const info = infos.get(agent.address);
      const datastore = datastores.get(agent.address);
      // The shards the agent document lists (a shard document not written yet is left out).
      const shards =
        agent.shard_ids?.flatMap((id) => {
          const doc = shardsById.get(entityId.shard(summary.cluster_id, agent.address, id));
          return doc ? [{ id: doc.shard_id, role: doc.role, commit_offset: doc.commit_offset, lag: doc.lag }] : [];
        }) ?? null;
      return {
        address: agent.address,
        node_id: agent.node_id,
        discovered: { node_id: agent.discovered.node_id, node_class: agent.discovered.node_class, node_group: agent.discovered.node_group },
        status: agent.status.reason === undefined ? { code: agent.status.code } : { code: agent.status.code, reason: agent.status.reason },
        last_error: agent.last_error,
        last_successful_refresh_at: agent.last_successful_refresh_at,
        first_seen_at: agent.first_seen_at,
        left_discovery_at: agent.left_discovery_at,
        agent: info ? { version: { checkout: info.version.checkout, number: info.version.number, taint: info.version.taint } } : null,
        datastore: datastore
          ? {
              cluster_id: datastore.datastore_cluster_id,
              node_id: datastore.datastore_node_id,
              kind: datastore.kind,
              version: datastore.version,
              cluster_display_name: datastore.cluster_display_name,
            }
          : null,
        shards,
        shards_error: agent.shards_error,
      };
    })
    .sort((a, b) => compareStrings(a.address, b.address));
  return { ...summaryOf(summary), shards: summarizeShards(members.filter((node) => node.left_discovery_at === null)), members };
}

/** The ids of the shard documents the agent documents list: what to read of the shards collection. */
export function listedShardDocumentIds(clusterId: string, agents: readonly Partial<AgentDocument>[]): string[] {
  return agents.flatMap((agent) => (agent.address === undefined ? [] : (agent.shard_ids ?? []).map((id) => entityId.shard(clusterId, agent.address!, id))));
}
