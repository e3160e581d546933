/**
 * The scripted changes of the chaos run: one loop per cluster plays agents and datastores going
 * down and up, failovers, nodes joining and nodes leaving on the sim, for the whole run, while
 * the faults are injected around it.
 *
 * Every change is one the poller can see, by construction:
 * - one change at a time per cluster, and the next only once every event the last one must
 *   cause is on the topic (its "gate") and at least `dwellMs` (two refresh intervals) later,
 *   so each state lasts until a refresh has reported it, however long a fault delays that;
 * - changes land half an interval from the cluster's refresh slots (refreshPhaseMs), so a
 *   scheduled refresh never observes half of a change (a failover moves two nodes at once);
 * - a node leaves like a decommissioned one: its agent goes down first (a change of its own),
 *   then it is removed from the sim, so the removal itself causes no status change to race with
 *   discovery.
 * What each change must cause is computed by the model (model.ts) from the sim's cluster
 * before and after, and recorded with the change (its sim change log `seq` and `at_ms`).
 *
 * While Kafka is down no event can be seen, so no gate would open and nothing would be scripted
 * during the outage. There (only: no worker dies meanwhile) a state or failover change also
 * counts as seen once every node of its cluster has had an agent-info request since the change
 * (the sim's request counters): a refresh observed it and holds its events until Kafka takes
 * them; the next change then waits for a refresh after Kafka is back. Membership changes always
 * wait for their events (discovery publishes before it tells the cluster).
 * A change whose events do not all arrive within `gateTimeoutMs` stops its cluster's script
 * (reported as stuck); the oracle then counts what is missing.
 */
import type { FleetEvent } from '../../src/domain/event-catalogue.js';
import { normalizeAgentAddress } from '../../src/domain/ids.js';
import { refreshPhaseMs } from '../../src/domain/refresh-slots.js';
import { delay } from '../fleet/processes.js';
import { clusterStatus, expectedKeys, eventKey, membershipKey, nodeName, observe, retire, type ClusterStatus, type ModelView, type SimClusterSnapshot, type StatusCode } from './model.js';

export interface ScriptSettings {
  intervalMs: number;
  /** Least time between two changes of one cluster. */
  dwellMs: number;
  agentTimeoutMs: number;
  /** A change whose events are not all seen in this time stops its cluster's script. */
  gateTimeoutMs: number;
  seed: number;
}

/** A step a cluster's script takes; node names are the sim's (`n2`). */
export type Step =
  | { kind: 'state'; node: string; patch: Record<string, string>; tag?: string }
  | { kind: 'failover'; to: string }
  | { kind: 'add' }
  | { kind: 'remove'; node: string }
  /** An agent fault on any healthy node of the cluster (the fault phase does not pick the node: the script knows which are healthy). */
  | { kind: 'agent_fault'; mode: string; tag: string }
  /** Undoes the cluster's agent fault. */
  | { kind: 'agent_fault_end'; tag: string };

export interface ScriptedChange {
  cluster: string;
  /** 0: onboarding (the first refresh), then 1, 2, ... */
  index: number;
  /** The sim change log's seq (null for onboarding). */
  seq: number | null;
  at_ms: number;
  /** The sim node the change is about (null: the cluster, or a failover's several). */
  node: string | null;
  what: string;
  /** Set on the agent-fault phase's changes: `agent-fault:<mode>` and `agent-fault-end:<mode>`. */
  tag: string | null;
  /** Keys discovery must publish (CLUSTER_NEW, CLUSTER_CHANGED). */
  discovery: string[];
  /** Keys the cluster's refreshes must publish, stage by stage (a node leaving: first its leaving, then NODE_RETIRED). */
  stages: string[][];
}

export interface SimAdmin {
  url: string;
  post(path: string, body: unknown): Promise<Record<string, unknown>>;
  del(path: string): Promise<Record<string, unknown>>;
  get(path: string): Promise<unknown>;
}

export function simAdmin(url: string): SimAdmin {
  const call = async (method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${url}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    const answer = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`sim ${method} ${path}: HTTP ${response.status} ${String(answer.error)}`);
    return answer;
  };
  return { url, post: (path, body) => call('POST', path, body), del: (path) => call('DELETE', path), get: (path) => call('GET', path) };
}

/** A small seeded PRNG (mulberry32): the same seed plays the same choices. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(items: readonly T[], rng: () => number): T {
  return items[Math.floor(rng() * items.length)]!;
}

/** The first instant at or after `fromMs` that is half an interval from the cluster's refresh slots. */
export function nextMidSlot(fromMs: number, intervalMs: number, phaseMs: number): number {
  const target = phaseMs + intervalMs / 2;
  const into = (((fromMs - target) % intervalMs) + intervalMs) % intervalMs;
  return into === 0 ? fromMs : fromMs + intervalMs - into;
}

const healthy = (node: SimClusterSnapshot['nodes'][number]): boolean => node.state.agent === 'up' && node.state.datastore === 'up';

class ClusterScript {
  readonly changes: ScriptedChange[] = [];
  readonly forced: Step[] = [];
  reserved = false;
  stuck: string | null = null;
  /** Keys not seen yet (multisets), per change still missing some, oldest first. */
  private pending: { index: number; keys: Map<string, number> }[] = [];
  /** The last change counts as seen: its events are on the topic, or a refresh observed it while Kafka was down. */
  private lastSeen = true;
  /** agent_info requests per node when the last change was made. */
  private requestsAtChange = new Map<string, number>();
  private lastKind: Step['kind'] | 'onboarding' = 'onboarding';
  private lastChangeAtMs = 0;
  private decommissioning: string | null = null;
  /** The node each open agent fault is on, by tag. */
  private readonly faultNodes = new Map<string, string>();
  private readonly rng: () => number;
  private readonly phaseMs: number;
  private readonly baseNodes: number;
  private listed: string[];
  private model: ModelView | null = null;

  constructor(
    readonly id: string,
    private snapshot: SimClusterSnapshot,
    private readonly admin: SimAdmin,
    private readonly settings: ScriptSettings,
    seed: number,
  ) {
    this.rng = random(seed);
    this.phaseMs = refreshPhaseMs(id, settings.intervalMs);
    this.baseNodes = snapshot.nodes.length;
    this.listed = snapshot.nodes.map((node) => normalizeAgentAddress(node.url));
  }

  /** The first refresh: every node new, the cluster HEALTHY; discovery's CLUSTER_NEW. */
  onboard(atMs: number): void {
    const next = observe(null, this.snapshot, this.listed, this.settings.agentTimeoutMs);
    this.record({ seq: null, at_ms: atMs, node: null, what: 'onboarding', tag: null, discovery: ['CLUSTER_NEW'], stages: [expectedKeys(null, next)] });
    this.model = next;
  }

  gateOpen(): boolean {
    return this.lastSeen;
  }

  /** A unique event of this cluster from the topic: it may be one a change is waiting for (the oldest first). */
  seen(key: string): void {
    const entry = this.pending.find((candidate) => candidate.keys.has(key));
    if (entry === undefined) return;
    const count = entry.keys.get(key)!;
    if (count > 1) entry.keys.set(key, count - 1);
    else entry.keys.delete(key);
    if (entry.keys.size > 0) return;
    this.pending = this.pending.filter((candidate) => candidate !== entry);
    if (entry.index === this.changes.length - 1) this.lastSeen = true;
  }

  pendingKeys(): string[] {
    return this.pending.flatMap((entry) => [...entry.keys.keys()].map((key) => `#${entry.index} ${key}`));
  }

  /** While Kafka is down: whether every node has been asked by a refresh since the last state or failover change. */
  private async observedSinceChange(): Promise<boolean> {
    if (!['state', 'failover', 'agent_fault', 'agent_fault_end'].includes(this.lastKind)) return false;
    const now = (await this.admin.get(`/admin/clusters/${encodeURIComponent(this.id)}`)) as SimClusterSnapshot;
    return now.nodes.every((node) => (node.requests?.agent_info ?? 0) > (this.requestsAtChange.get(node.node) ?? Infinity));
  }

  /** The view the model holds now: the cluster's status and its listed nodes' statuses by name. */
  expected(): { status: ClusterStatus; nodes: Record<string, StatusCode> } | null {
    if (this.model === null) return null;
    const nodes = Object.fromEntries(this.model.nodes.filter((node) => !node.leaving).map((node) => [nodeName(node.address), node.status]));
    return { status: clusterStatus(this.model), nodes };
  }

  /** Changes let through on the sim's request counters rather than their events (Kafka down). */
  observedOnly = 0;

  async run(stopping: () => boolean, randomSteps: () => boolean, observedCounts: () => boolean): Promise<void> {
    for (;;) {
      const waitStart = Date.now();
      let asked = 0;
      while (!this.gateOpen()) {
        if (Date.now() - Math.max(waitStart, this.lastChangeAtMs) > this.settings.gateTimeoutMs) {
          this.stuck = `change ${this.changes.length - 1} (${this.changes.at(-1)?.what}) still waits for ${this.pendingKeys().join('; ')} after ${Math.round(this.settings.gateTimeoutMs / 1000)} s`;
          return;
        }
        if (stopping()) return;
        if (observedCounts() && Date.now() - asked > 1000) {
          asked = Date.now();
          if (await this.observedSinceChange().catch(() => false)) {
            this.lastSeen = true;
            this.observedOnly += 1;
            break;
          }
        }
        await delay(100);
      }
      if (stopping()) return;
      const idle = this.forced.length === 0 && this.decommissioning === null && (this.reserved || !randomSteps());
      if (idle) {
        if (!randomSteps() && !this.reserved) return;
        await delay(200);
        continue;
      }
      const at = nextMidSlot(Math.max(Date.now(), this.lastChangeAtMs + this.settings.dwellMs), this.settings.intervalMs, this.phaseMs);
      while (Date.now() < at) {
        if (stopping()) return;
        await delay(Math.min(250, at - Date.now()));
      }
      // Chosen at the moment it is applied: a step forced meanwhile goes first.
      const step =
        this.forced.shift() ??
        (this.decommissioning !== null ? { kind: 'remove' as const, node: this.decommissioning } : !this.reserved && randomSteps() ? this.randomStep() : null);
      if (step === null) continue;
      try {
        await this.apply(step);
      } catch (err) {
        this.stuck = `applying ${JSON.stringify(step)} failed: ${err instanceof Error ? err.message : String(err)}`;
        return;
      }
    }
  }

  /** What the script does next when nothing is forced. */
  private randomStep(): Step | null {
    const nodes = this.snapshot.nodes;
    const faulted = nodes.filter((node) => !healthy(node));
    const up = nodes.filter(healthy);
    if (faulted.length > 0 && this.rng() < faulted.length / nodes.length + 0.25) {
      const node = pick(faulted, this.rng);
      return { kind: 'state', node: node.node, patch: node.state.agent === 'up' ? { datastore: 'up' } : { agent: 'up' } };
    }
    const options: [number, () => Step | null][] = [];
    if (up.length > 0) {
      options.push([3, () => ({ kind: 'state', node: pick(up, this.rng).node, patch: { agent: 'down' } })]);
      options.push([3, () => ({ kind: 'state', node: pick(up, this.rng).node, patch: { datastore: 'down' } })]);
      const targets = up.filter((node) => this.snapshot.shards.some((shard) => shard.replicas.includes(node.node) && shard.primary !== node.node));
      if (targets.length > 0) options.push([3, () => ({ kind: 'failover', to: pick(targets, this.rng).node })]);
    }
    if (nodes.length === this.baseNodes) options.push([1, () => ({ kind: 'add' })]);
    if (nodes.length > this.baseNodes && up.length > 0) {
      options.push([
        2,
        () => {
          const node = pick(up, this.rng).node;
          this.decommissioning = node;
          return { kind: 'state', node, patch: { agent: 'down' }, tag: 'decommission' };
        },
      ]);
    }
    if (options.length === 0) return null;
    let roll = this.rng() * options.reduce((total, [weight]) => total + weight, 0);
    for (const [weight, make] of options) {
      roll -= weight;
      if (roll < 0) return make();
    }
    return options.at(-1)![1]();
  }

  private async apply(step: Step): Promise<void> {
    const base = `/admin/clusters/${encodeURIComponent(this.id)}`;
    const before = this.model;
    let answer: Record<string, unknown>;
    let what: string;
    let tag: string | null = null;
    let discovery: string[] = [];
    let listedAfter = this.listed;
    let removed: string | null = null;
    let node: string | null = null;
    switch (step.kind) {
      case 'state':
        answer = await this.admin.post(`${base}/nodes/${step.node}/state`, step.patch);
        node = step.node;
        what = `${step.node} ${Object.entries(step.patch).map(([k, v]) => `${k} ${v}`).join(', ')}${step.tag ? ` (${step.tag})` : ''}`;
        break;
      case 'agent_fault': {
        const target = this.snapshot.nodes.find((candidate) => healthy(candidate) && candidate.node !== this.decommissioning);
        if (!target) {
          this.stuck ??= `no healthy node for ${step.tag}`;
          return;
        }
        node = target.node;
        this.faultNodes.set(step.tag, node);
        answer = await this.admin.post(`${base}/nodes/${node}/state`, { agent: step.mode });
        what = `${node} agent ${step.mode} (${step.tag})`;
        tag = step.tag;
        break;
      }
      case 'agent_fault_end': {
        node = this.faultNodes.get(step.tag) ?? null;
        if (node === null) return;
        this.faultNodes.delete(step.tag);
        answer = await this.admin.post(`${base}/nodes/${node}/state`, { agent: 'up' });
        what = `${node} agent up (end of ${step.tag})`;
        tag = `${step.tag}:end`;
        break;
      }
      case 'failover':
        answer = await this.admin.post(`${base}/failover`, { to: step.to });
        what = `failover to ${step.to}`;
        break;
      case 'add': {
        answer = await this.admin.post(`${base}/nodes`, {});
        const url = normalizeAgentAddress(String(answer.url));
        node = String(answer.node);
        what = `${node} joins`;
        listedAfter = [...this.listed, url];
        discovery = [membershipKey([url], [])];
        break;
      }
      case 'remove': {
        const url = this.listed.find((address) => address.endsWith(`/n/${step.node}`))!;
        answer = await this.admin.del(`${base}/nodes/${step.node}`);
        node = step.node;
        what = `${step.node} leaves`;
        listedAfter = this.listed.filter((address) => address !== url);
        discovery = [membershipKey([], [url])];
        removed = url;
        this.decommissioning = null;
        break;
      }
    }
    const change = answer.change as { seq: number; at_ms: number };
    this.snapshot = (await this.admin.get(base)) as SimClusterSnapshot;
    const next = observe(before, this.snapshot, listedAfter, this.settings.agentTimeoutMs);
    const stages = [expectedKeys(before, next)];
    this.model = next;
    if (removed !== null) {
      this.model = retire(next, removed);
      stages.push(expectedKeys(next, this.model));
    }
    this.listed = listedAfter;
    this.lastKind = step.kind;
    this.record({ seq: change.seq, at_ms: change.at_ms, node, what, tag, discovery, stages });
  }

  private record(change: Omit<ScriptedChange, 'cluster' | 'index'>): void {
    this.changes.push({ cluster: this.id, index: this.changes.length, ...change });
    this.lastChangeAtMs = change.at_ms;
    const keys = new Map<string, number>();
    for (const key of [...change.discovery, ...change.stages.flat()]) keys.set(key, (keys.get(key) ?? 0) + 1);
    this.lastSeen = keys.size === 0;
    if (keys.size > 0) this.pending.push({ index: this.changes.length - 1, keys });
    this.requestsAtChange = new Map(this.snapshot.nodes.map((node) => [node.node, node.requests?.agent_info ?? 0]));
  }
}

/** Every cluster's script, fed by the topic. */
export class ChaosScript {
  private readonly clusters = new Map<string, ClusterScript>();
  private readonly arrivals = new Map<string, number>();
  private running: Promise<void>[] = [];
  private stopped = false;
  private random = true;
  private kafkaDown = false;

  private constructor(private readonly settings: ScriptSettings) {}

  static async create(admin: SimAdmin, clusterIds: readonly string[], settings: ScriptSettings): Promise<ChaosScript> {
    const script = new ChaosScript(settings);
    for (const [index, id] of clusterIds.entries()) {
      const snapshot = (await admin.get(`/admin/clusters/${encodeURIComponent(id)}`)) as SimClusterSnapshot;
      script.clusters.set(id, new ClusterScript(id, snapshot, admin, settings, settings.seed * 7919 + index));
    }
    return script;
  }

  /** Records every cluster's onboarding as its first change (discovery applied at `atMs`). */
  onboard(atMs: number): void {
    for (const cluster of this.clusters.values()) cluster.onboard(atMs);
  }

  /** An event read from the topic (any copy; duplicates by id are dropped here). */
  onEvent(event: FleetEvent): void {
    if (typeof event?.id !== 'string' || this.arrivals.has(event.id)) return;
    this.arrivals.set(event.id, Date.now());
    if (event.cluster_id !== null) this.clusters.get(event.cluster_id)?.seen(eventKey(event));
  }

  /** When each event id was first read from the topic (this process's clock, the sim's too). */
  arrivedAt(): ReadonlyMap<string, number> {
    return this.arrivals;
  }

  /** Clusters whose every expected event has been seen so far. */
  settled(): string[] {
    return [...this.clusters.values()].filter((cluster) => cluster.gateOpen()).map((cluster) => cluster.id);
  }

  start(): void {
    this.running = [...this.clusters.values()].map((cluster) =>
      cluster.run(
        () => this.stopped,
        () => this.random,
        () => this.kafkaDown,
      ),
    );
  }

  /** While Kafka is down, state and failover changes also count as seen once a refresh observed them (see the header). */
  setKafkaDown(down: boolean): void {
    this.kafkaDown = down;
  }

  /** Changes let through while Kafka was down, on the sim's request counters. */
  observedOnly(): number {
    return [...this.clusters.values()].reduce((total, cluster) => total + cluster.observedOnly, 0);
  }

  /** Keeps these clusters for forced steps only (their random steps pause). */
  reserve(ids: readonly string[]): void {
    for (const id of ids) this.clusters.get(id)!.reserved = true;
  }

  release(ids: readonly string[]): void {
    for (const id of ids) this.clusters.get(id)!.reserved = false;
  }

  force(id: string, step: Step): void {
    this.clusters.get(id)!.forced.push(step);
  }

  /** Whether the cluster has done its forced steps and seen their events. */
  idle(id: string): boolean {
    const cluster = this.clusters.get(id)!;
    return cluster.forced.length === 0 && cluster.gateOpen();
  }

  /** Clusters that can take part in a fault phase: not stuck, not in the middle of a node leaving. */
  candidates(): string[] {
    return [...this.clusters.values()].filter((cluster) => cluster.stuck === null).map((cluster) => cluster.id);
  }

  /** No more random steps; loops end once their last change is seen (or times out). */
  async finish(timeoutMs: number): Promise<void> {
    this.random = false;
    for (const cluster of this.clusters.values()) cluster.reserved = false;
    const all = Promise.all(this.running);
    const timedOut = await Promise.race([all.then(() => false), delay(timeoutMs).then(() => true)]);
    this.stopped = true;
    if (timedOut) await all;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }

  changes(): ScriptedChange[] {
    return [...this.clusters.values()].flatMap((cluster) => cluster.changes);
  }

  expected(id: string): ReturnType<ClusterScript['expected']> {
    return this.clusters.get(id)?.expected() ?? null;
  }

  stuck(): { cluster: string; why: string }[] {
    return [...this.clusters.values()].flatMap((cluster) => (cluster.stuck ? [{ cluster: cluster.id, why: cluster.stuck }] : []));
  }

  /** Clusters still waiting for events of their last change, with what they wait for. */
  waiting(): { cluster: string; change: string; keys: string[] }[] {
    return [...this.clusters.values()]
      .filter((cluster) => !cluster.gateOpen())
      .map((cluster) => ({ cluster: cluster.id, change: cluster.changes.at(-1)?.what ?? '', keys: cluster.pendingKeys() }));
  }
}
