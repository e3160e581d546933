/**
 * The simulated fleet: clusters, their nodes, each node's faults, and the change log. No HTTP
 * here. Each node's three Agent API bodies are serialized once and cached until something that
 * node reports changes, so serving a request is a map lookup and a write.
 */
import { kindProfiles } from './kinds.js';
import type { SimKind, SimShardLayout } from './kinds.js';

export const agentModes = ['up', 'down', 'hang', 'slow', 'garbage', 'oversize', 'reset', 'error'] as const;
export type AgentMode = (typeof agentModes)[number];

export interface SimNodeState {
  /** up; down: connection closed without an answer; hang: never answers; slow: answers after slowMs;
   * garbage: 200 with a body that is not JSON; oversize: a 200 body of oversizeBytes;
   * reset: the connection reset (TCP RST) once the request is in; error: 500 with a Replicante error body. */
  agent: AgentMode;
  /** down: the datastore and shards calls answer 503 with a Replicante error body. */
  datastore: 'up' | 'down';
  /** down: only the shards call fails (500), the node is otherwise healthy. */
  shards: 'up' | 'down';
  /** Datastore version reported in datastore info. */
  version: string;
  /** Agent version number reported in agent info. */
  agent_version: string;
  /** Cluster id the datastore reports (differs from the real one to simulate a misplaced node). */
  cluster_id: string;
  /** Delay of the `slow` mode, in ms. */
  slow_ms: number;
}

export type SimStatePatch = Partial<SimNodeState>;

export interface SimRequestCounts {
  agent_info: number;
  datastore_info: number;
  shards: number;
  metrics: number;
}

export interface SimNode {
  readonly cluster: SimCluster;
  readonly name: string;
  readonly nodeId: string;
  state: SimNodeState;
  requests: SimRequestCounts;
  /** Cached response bodies; null after a change that alters what this node reports. */
  bodies: SimNodeBodies | null;
}

export interface SimNodeBodies {
  agentInfo: Buffer;
  datastoreInfo: Buffer;
  shards: Buffer;
  datastoreError: Buffer;
  shardsError: Buffer;
}

export interface SimCluster {
  readonly id: string;
  readonly kind: SimKind;
  readonly displayName: string;
  readonly nodes: Map<string, SimNode>;
  shards: SimShardLayout[];
  nextNodeNumber: number;
}

export type SimChangeType = 'state' | 'failover' | 'node_added' | 'node_removed' | 'discovery';

/**
 * The discovery endpoints' fault: off, failing until cleared, or failing the next `remaining`
 * requests. A failing endpoint answers 500 with an error body on /discovery and /http_sd.
 */
export interface SimDiscoveryFault {
  fail: boolean;
  /** Requests still to fail; null: until cleared. */
  remaining: number | null;
  /** Requests failed since the sim started. */
  failed_requests: number;
}

export interface SimChange {
  /** 1, 2, 3... in the order changes were applied. */
  seq: number;
  /** When the change took effect (ISO 8601). */
  at: string;
  /** The same instant in epoch ms, for arithmetic. */
  at_ms: number;
  type: SimChangeType;
  /** The cluster changed; empty for a `discovery` change (the discovery endpoints, fleet-wide). */
  cluster: string;
  node?: string;
  details: Record<string, unknown>;
}

export interface SimFleetOptions {
  clusters: number;
  nodesPerCluster: number;
  /** Kinds assigned round-robin to clusters (default all three). */
  kinds?: readonly SimKind[];
  /** Partitions of each Kafka-like cluster (default 8). */
  partitions?: number;
  /** Default delay of the `slow` mode, in ms (default 3000). */
  slowMs?: number;
  /** Prepended to every cluster id (`e2e-x1-mongo-0`), so runs sharing services do not collide. */
  idPrefix?: string;
  /** Clock, for tests. */
  now?: () => number;
}

/** A problem with an admin request: the HTTP status it maps to and a message. */
export class SimAdminError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'SimAdminError';
  }
}

const nodeNamePattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const agentCheckout = 'f1ee7e0';

export class SimFleet {
  readonly clusters = new Map<string, SimCluster>();
  readonly changes: SimChange[] = [];
  readonly discoveryFault: SimDiscoveryFault = { fail: false, remaining: null, failed_requests: 0 };
  /** Grows whenever nodes join or leave: discovery bodies are cached per membership version. */
  membershipVersion = 0;
  private readonly partitions: number;
  private readonly slowMs: number;
  private readonly now: () => number;
  private readonly membershipListeners: (() => void)[] = [];

  constructor(options: SimFleetOptions) {
    const kinds = options.kinds && options.kinds.length > 0 ? options.kinds : (['mongodb', 'kafka', 'zookeeper'] as const);
    this.partitions = options.partitions ?? 8;
    this.slowMs = options.slowMs ?? 3000;
    this.now = options.now ?? Date.now;
    const idPrefix = options.idPrefix ?? '';
    if (!/^[A-Za-z0-9._-]{0,64}$/.test(idPrefix)) throw new Error(`invalid idPrefix ${JSON.stringify(idPrefix)}: up to 64 of A-Z a-z 0-9 . _ -`);
    for (let index = 0; index < options.clusters; index++) {
      const kind = kinds[index % kinds.length]!;
      const profile = kindProfiles[kind];
      const id = `${idPrefix}${profile.clusterPrefix}-${index}`;
      const nodeNames = Array.from({ length: options.nodesPerCluster }, (_, i) => `n${i + 1}`);
      const cluster: SimCluster = {
        id,
        kind,
        displayName: profile.displayName(index),
        nodes: new Map(),
        shards: profile.initialShards(id, nodeNames, this.partitions),
        nextNodeNumber: options.nodesPerCluster + 1,
      };
      for (const name of nodeNames) cluster.nodes.set(name, this.newNode(cluster, name));
      this.clusters.set(id, cluster);
    }
  }

  /** Called after nodes join or leave (the sim rewrites its discovery file). */
  onMembershipChange(listener: () => void): void {
    this.membershipListeners.push(listener);
  }

  nodeCount(): number {
    let count = 0;
    for (const cluster of this.clusters.values()) count += cluster.nodes.size;
    return count;
  }

  cluster(id: string): SimCluster {
    const cluster = this.clusters.get(id);
    if (!cluster) throw new SimAdminError(404, `no cluster ${JSON.stringify(id)}`);
    return cluster;
  }

  node(clusterId: string, name: string): SimNode {
    const node = this.cluster(clusterId).nodes.get(name);
    if (!node) throw new SimAdminError(404, `no node ${JSON.stringify(name)} in cluster ${JSON.stringify(clusterId)}`);
    return node;
  }

  /** The node serving `/c/<cluster>/n/<name>`, or undefined: the hot path, no allocation. */
  findNode(clusterId: string, name: string): SimNode | undefined {
    return this.clusters.get(clusterId)?.nodes.get(name);
  }

  setState(clusterId: string, name: string, patch: SimStatePatch): SimChange {
    const node = this.node(clusterId, name);
    node.state = { ...node.state, ...patch };
    node.bodies = null;
    return this.record('state', clusterId, name, { ...patch });
  }

  /**
   * Makes `to` the primary of `shard`, or, without a shard, of every shard it holds a replica
   * of (a replica set or ensemble has one shard; a Kafka broker takes the lead of its partitions).
   */
  failover(clusterId: string, to: string, shardId?: string): SimChange {
    const cluster = this.cluster(clusterId);
    this.node(clusterId, to);
    const targets = shardId === undefined ? cluster.shards.filter((shard) => shard.replicas.includes(to)) : [this.shard(cluster, shardId)];
    if (targets.length === 0) throw new SimAdminError(409, `node ${JSON.stringify(to)} holds no shard of ${JSON.stringify(clusterId)}`);
    for (const shard of targets) {
      if (!shard.replicas.includes(to)) throw new SimAdminError(409, `node ${JSON.stringify(to)} holds no replica of shard ${JSON.stringify(shard.id)}`);
    }
    const moved = targets.map((shard) => ({ shard: shard.id, from: shard.primary, to }));
    for (const shard of targets) shard.primary = to;
    this.invalidateCluster(cluster);
    return this.record('failover', clusterId, to, { shards: moved });
  }

  addNode(clusterId: string, requestedName?: string): { node: SimNode; change: SimChange } {
    const cluster = this.cluster(clusterId);
    let name = requestedName;
    if (name === undefined) {
      do name = `n${cluster.nextNodeNumber++}`;
      while (cluster.nodes.has(name));
    }
    if (!nodeNamePattern.test(name)) throw new SimAdminError(400, `invalid node name ${JSON.stringify(name)}: expected ${nodeNamePattern.source}`);
    if (cluster.nodes.has(name)) throw new SimAdminError(409, `node ${JSON.stringify(name)} already exists in ${JSON.stringify(clusterId)}`);
    const node = this.newNode(cluster, name);
    cluster.nodes.set(name, node);
    if (kindProfiles[cluster.kind].joinsEveryShard) {
      for (const shard of cluster.shards) shard.replicas.push(name);
      this.invalidateCluster(cluster);
    }
    const change = this.record('node_added', clusterId, name, { node_id: node.nodeId });
    this.membershipChanged();
    return { node, change };
  }

  /** The node leaves discovery and stops answering; shards it led have no primary until a failover. */
  removeNode(clusterId: string, name: string): SimChange {
    const cluster = this.cluster(clusterId);
    const node = this.node(clusterId, name);
    cluster.nodes.delete(name);
    const orphaned: string[] = [];
    for (const shard of cluster.shards) {
      shard.replicas = shard.replicas.filter((replica) => replica !== name);
      if (shard.primary === name) {
        shard.primary = null;
        orphaned.push(shard.id);
      }
    }
    this.invalidateCluster(cluster);
    const change = this.record('node_removed', clusterId, name, { node_id: node.nodeId, shards_without_primary: orphaned });
    this.membershipChanged();
    return change;
  }

  /**
   * Makes the discovery endpoints fail: `true` until cleared, a number for that many requests
   * (then they answer again, recorded too), `false` or 0 to clear.
   */
  setDiscoveryFault(fail: boolean | number): SimChange {
    const failing = fail === true || (typeof fail === 'number' && fail > 0);
    this.discoveryFault.fail = failing;
    this.discoveryFault.remaining = typeof fail === 'number' && failing ? fail : null;
    return this.record('discovery', '', undefined, { fail });
  }

  /** Called once per discovery request: whether to fail it (and counts it). */
  takeDiscoveryFailure(): boolean {
    const fault = this.discoveryFault;
    if (!fault.fail) return false;
    fault.failed_requests++;
    if (fault.remaining !== null && --fault.remaining <= 0) {
      fault.fail = false;
      fault.remaining = null;
      this.record('discovery', '', undefined, { fail: false, after_failed_requests: fault.failed_requests });
    }
    return true;
  }

  /** The node's cached bodies, serialized again after a change. */
  bodiesOf(node: SimNode): SimNodeBodies {
    node.bodies ??= this.serialize(node);
    return node.bodies;
  }

  /** What the node reports in its shards call: only its own replicas, its own role. */
  shardsOf(node: SimNode): { id: string; role: 'primary' | 'secondary'; commit_offset: unknown; lag: unknown }[] {
    const out = [];
    for (const shard of node.cluster.shards) {
      if (!shard.replicas.includes(node.name)) continue;
      const primary = shard.primary === node.name;
      out.push({
        id: shard.id,
        role: primary ? ('primary' as const) : ('secondary' as const),
        commit_offset: { unit: shard.unit, value: shard.commitOffset },
        lag: primary ? null : { unit: shard.unit, value: 0 },
      });
    }
    return out;
  }

  private serialize(node: SimNode): SimNodeBodies {
    const { state, cluster } = node;
    return {
      agentInfo: Buffer.from(JSON.stringify({ version: { checkout: agentCheckout, number: state.agent_version, taint: 'not tainted' } })),
      datastoreInfo: Buffer.from(
        JSON.stringify({
          cluster_id: state.cluster_id,
          node_id: node.nodeId,
          kind: cluster.kind,
          version: state.version,
          cluster_display_name: cluster.displayName,
        }),
      ),
      shards: Buffer.from(JSON.stringify({ shards: this.shardsOf(node) })),
      datastoreError: replicanteError(cluster.kind, 'datastore'),
      shardsError: replicanteError(cluster.kind, 'shards'),
    };
  }

  private newNode(cluster: SimCluster, name: string): SimNode {
    const profile = kindProfiles[cluster.kind];
    return {
      cluster,
      name,
      nodeId: `${cluster.id}-${name}:${profile.port}`,
      state: {
        agent: 'up',
        datastore: 'up',
        shards: 'up',
        version: profile.datastoreVersion,
        agent_version: '0.3.1',
        cluster_id: cluster.id,
        slow_ms: this.slowMs,
      },
      requests: { agent_info: 0, datastore_info: 0, shards: 0, metrics: 0 },
      bodies: null,
    };
  }

  private shard(cluster: SimCluster, id: string): SimShardLayout {
    const shard = cluster.shards.find((candidate) => candidate.id === id);
    if (!shard) throw new SimAdminError(404, `no shard ${JSON.stringify(id)} in cluster ${JSON.stringify(cluster.id)}`);
    return shard;
  }

  private invalidateCluster(cluster: SimCluster): void {
    for (const node of cluster.nodes.values()) node.bodies = null;
  }

  private membershipChanged(): void {
    this.membershipVersion++;
    for (const listener of this.membershipListeners) listener();
  }

  private record(type: SimChangeType, cluster: string, node: string | undefined, details: Record<string, unknown>): SimChange {
    const atMs = this.now();
    const change: SimChange = {
      seq: this.changes.length + 1,
      at: new Date(atMs).toISOString(),
      at_ms: atMs,
      type,
      cluster,
      ...(node === undefined ? {} : { node }),
      details,
    };
    this.changes.push(change);
    return change;
  }
}

/** The datastore operation each kind's agent runs for datastore info and for shards. */
const datastoreOperations: Record<SimKind, { datastore: string; shards: string }> = {
  mongodb: { datastore: 'buildInfo', shards: 'replSetGetStatus' },
  kafka: { datastore: 'describeCluster', shards: 'listPartitionReassignments' },
  zookeeper: { datastore: 'conf', shards: 'mntr' },
};
const errorBodies = new Map<string, Buffer>();

/**
 * What a Replicante agent answers when its datastore is down: the SerializableFail of
 * replicante-io/common (`error` the top layer, `layers` outermost first down to the root cause,
 * `trace` a backtrace of tens of KB, `variant` the error kind). One body per kind and call,
 * shared by every node (bodies are cached per node; 30 KB each would add up over a big fleet).
 */
function replicanteError(kind: SimKind, call: 'datastore' | 'shards'): Buffer {
  const key = `${kind}/${call}`;
  let body = errorBodies.get(key);
  if (!body) {
    const top = `datastore operation '${datastoreOperations[kind][call]}' failed`;
    const layers = [top, `connection error to ${kind} with address '127.0.0.1:${kindProfiles[kind].port}'`, 'Connection refused (os error 111)'];
    body = Buffer.from(JSON.stringify({ error: top, layers, trace: backtrace(kind), variant: 'StoreOpFailed' }));
    errorBodies.set(key, body);
  }
  return body;
}

/** A Rust backtrace as failure formats one: about 30 KB of numbered frames with their source lines. */
function backtrace(kind: SimKind): string {
  const frames = ['failure::backtrace::Backtrace::new', 'replicante_agent::error::Error::from', `replicante_agent_${kind}::datastore::info`, 'iron::middleware::Chain::handle', 'hyper::server::Worker::handle_connection', 'std::sys::unix::thread::Thread::new::thread_start'];
  let trace = 'stack backtrace:';
  for (let index = 0; trace.length < 30_000; index++) {
    const frame = frames[index % frames.length]!;
    const hash = (0x9e3779b9 * (index + 1)).toString(16).padStart(16, '0');
    trace += `\n  ${index}: ${frame}::h${hash}\n             at /cargo/registry/src/github.com-1ecc6299db9ec823/${frame.split('::')[0]}-0.3.${index % 10}/src/lib.rs:${100 + index}`;
  }
  return trace;
}
