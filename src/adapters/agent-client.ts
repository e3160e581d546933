/**
 * The Agent API client: observes one node by calling its agent, and classifies the outcome as
 * agent-api.md says. It never throws for a node's problem: every failure becomes the node's
 * status, so one bad node cannot fail a refresh.
 *
 *   agent info fails                              → AGENT_DOWN (datastore and shards not called)
 *   datastore info fails, or reports another
 *   cluster_id than discovery                     → NODE_DOWN
 *   shards fails on an otherwise healthy node     → UP, shards null, shards_error set
 */
import { setMaxListeners } from 'node:events';
import { agentAddressProblem, normalizeAgentAddress } from '../domain/ids.js';
import type { NodeObservation } from '../domain/observation.js';
import { quoted } from '../domain/text.js';
import { agentLimitDefaults } from '../config.js';
import { FairSlots } from './agent-limits.js';
import { parseAgentInfo, parseDatastoreInfo, parseShards } from './agent-schema.js';
import type { Parsed } from './agent-schema.js';
import { createJsonHttpClient } from './http-json-client.js';
import type { JsonHttpClient, TlsOptions } from './http-json-client.js';

/**
 * Tells the agent how long fleetview waits for each call, in seconds (decimal, e.g. `5` or
 * `0.3`), as Prometheus does with `X-Prometheus-Scrape-Timeout-Seconds`: an agent can give up
 * on slow datastore work before fleetview stops listening.
 */
export const agentTimeoutHeader = 'X-Fleetview-Timeout-Seconds';

export const agentApiPaths = {
  agentInfo: '/api/unstable/info/agent',
  datastoreInfo: '/api/unstable/info/datastore',
  shards: '/api/unstable/shards',
} as const;

/** The shape of `Config['agent']`, so `createAgentClient(config.agent)` just works. */
export interface AgentClientOptions extends TlsOptions {
  /** Budget of each of the three calls, in ms (config default 5000). Also sent in agentTimeoutHeader. */
  timeoutMs: number;
  /** Largest response body accepted, in bytes (config default 1 MiB); bigger fails that call. */
  maxResponseBytes: number;
  /** Extra headers on every call, e.g. `{Authorization: 'Bearer ...'}`. */
  headers?: Record<string, string> | undefined;
  /** Node observations in flight per client (the worker), all refreshes together (config default 256). */
  maxConcurrentNodes?: number | undefined;
  /** Node observations in flight per `observeAll` call (one refresh; config default 64). */
  maxConcurrentNodesPerCluster?: number | undefined;
  /** Idle connections to agents close after this many ms (config default 75000). */
  idleTimeoutMs?: number | undefined;
  /** Idle connections kept over all agents; past it, a freed connection stays pooled only 1 s (config default 8192). */
  maxIdleConnections?: number | undefined;
  /**
   * Connections per agent origin (default: twice maxConcurrentNodes, all the client may have in
   * flight). A node is its own origin and uses two; a gateway or the sim serves many nodes under
   * one origin, and a request queued inside Node's pool would spend its budget waiting there.
   */
  maxSocketsPerOrigin?: number | undefined;
}

export interface ObserveAllOptions {
  /** Budget of each call, as `observe`'s `timeoutMs`. It runs from the call's start, not while the node waits for a slot. */
  timeoutMs?: number | undefined;
  /** Aborts every request in flight and every node still waiting, at once. */
  signal?: AbortSignal | undefined;
}

export interface AgentClient {
  /**
   * Calls the agent at `address` and returns what the node says about itself, classified.
   * `expectedClusterId` is the cluster discovery lists the node in. `timeoutMs` overrides the
   * client's per-call budget for this observation (a cluster's own setting); `signal` aborts it.
   */
  observe(address: string, expectedClusterId: string, timeoutMs?: number, signal?: AbortSignal): Promise<NodeObservation>;
  /**
   * Observes every node of one cluster (a refresh), in the order of `addresses`: at most
   * maxConcurrentNodesPerCluster at once, and only in slots of the client's maxConcurrentNodes
   * shared with every other refresh in turn. Each node's outcome is its status as `observe`
   * gives it; once `signal` aborts, it rejects with the signal's reason.
   */
  observeAll(addresses: readonly string[], expectedClusterId: string, options?: ObserveAllOptions): Promise<NodeObservation[]>;
  /** Closes pooled connections. Call once, when the worker stops. */
  close(): void;
}

/** Build once per worker: the client pools keep-alive connections across observations. */
export function createAgentClient(options: AgentClientOptions): AgentClient {
  const maxConcurrentNodes = options.maxConcurrentNodes ?? agentLimitDefaults.maxConcurrentNodes;
  const perCluster = Math.min(options.maxConcurrentNodesPerCluster ?? agentLimitDefaults.maxConcurrentNodesPerCluster, maxConcurrentNodes);
  const slots = new FairSlots(maxConcurrentNodes);
  const http: JsonHttpClient = createJsonHttpClient({
    timeoutMs: options.timeoutMs,
    maxResponseBytes: options.maxResponseBytes,
    headers: options.headers,
    timeoutHeader: agentTimeoutHeader,
    tls: options,
    maxSocketsPerOrigin: options.maxSocketsPerOrigin ?? 2 * maxConcurrentNodes,
    idleSocketTimeoutMs: options.idleTimeoutMs ?? agentLimitDefaults.idleTimeoutMs,
    maxIdleSockets: options.maxIdleConnections ?? agentLimitDefaults.maxIdleConnections,
    userAgent: 'fleetview-agent-client',
  });

  async function call<T>(base: string, what: string, path: string, parse: (body: unknown) => Parsed<T>, timeoutMs: number | undefined, signal: AbortSignal | undefined): Promise<Parsed<T>> {
    const outcome = await http.request(`${base}${path}`, { timeoutMs, signal });
    if (!outcome.ok) return { ok: false, problem: `${what}: ${outcome.reason}` };
    const parsed = parse(outcome.body);
    return parsed.ok ? parsed : { ok: false, problem: `${what}: unexpected response: ${parsed.problem}` };
  }

  async function observe(rawAddress: string, expectedClusterId: string, timeoutMs?: number, signal?: AbortSignal): Promise<NodeObservation> {
    const address = normalizeAgentAddress(rawAddress);
    const down = (code: 'AGENT_DOWN' | 'NODE_DOWN', reason: string, agent: NodeObservation['agent'] = null): NodeObservation => ({
      address,
      status: { code, reason },
      agent,
      datastore: null,
      shards: null,
      shards_error: null,
    });

    const addressProblem = agentAddressProblem(address);
    if (addressProblem) return down('AGENT_DOWN', addressProblem);

    const agent = await call(address, 'agent info', agentApiPaths.agentInfo, parseAgentInfo, timeoutMs, signal);
    if (!agent.ok) return down('AGENT_DOWN', agent.problem);

    // The agent answers: datastore and shards are independent reads of the node.
    const [datastore, shards] = await Promise.all([
      call(address, 'datastore info', agentApiPaths.datastoreInfo, parseDatastoreInfo, timeoutMs, signal),
      call(address, 'shards', agentApiPaths.shards, parseShards, timeoutMs, signal),
    ]);
    if (!datastore.ok) return down('NODE_DOWN', datastore.problem, agent.value);
    if (datastore.value.cluster_id !== expectedClusterId) {
      // Its data describes another cluster: keeping it would mix two clusters in one view.
      return down(
        'NODE_DOWN',
        `datastore reports cluster_id ${quoted(datastore.value.cluster_id)} but discovery says ${JSON.stringify(expectedClusterId)}`,
        agent.value,
      );
    }
    return {
      address,
      status: { code: 'UP' },
      agent: agent.value,
      datastore: datastore.value,
      shards: shards.ok ? shards.value : null,
      shards_error: shards.ok ? null : shards.problem,
    };
  }

  async function observeAll(addresses: readonly string[], expectedClusterId: string, { timeoutMs, signal }: ObserveAllOptions = {}): Promise<NodeObservation[]> {
    signal?.throwIfAborted();
    const lanes = Math.min(perCluster, addresses.length);
    // One listener on the caller's signal, whatever the cluster's size (one per request passed
    // Node's 10-listener warning from the eleventh node on). Requests listen on this child
    // signal instead, each until it ends: at most two per lane.
    const refresh = new AbortController();
    setMaxListeners(2 * lanes + 1, refresh.signal);
    const party = {};
    const onAbort = (): void => {
      refresh.abort(signal?.reason);
      slots.cancel(party, signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const observations = new Array<NodeObservation>(addresses.length);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < addresses.length && !refresh.signal.aborted) {
        const index = next++;
        const release = await slots.acquire(party);
        try {
          observations[index] = await observe(addresses[index]!, expectedClusterId, timeoutMs, refresh.signal);
        } finally {
          release();
        }
      }
    };
    let settled: PromiseSettledResult<void>[];
    try {
      // Settled, not raced: every slot is given back before this returns or throws.
      settled = await Promise.allSettled(Array.from({ length: lanes }, lane));
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    // Cancelled: what the aborted calls returned is not an observation of the cluster.
    signal?.throwIfAborted();
    for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
    return observations;
  }

  return { observe, observeAll, close: () => http.close() };
}
