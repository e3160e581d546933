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
import { agentAddressProblem, normalizeAgentAddress } from '../domain/ids.js';
import type { NodeObservation } from '../domain/observation.js';
import { quoted } from '../domain/text.js';
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
  /** Concurrent connections per agent origin (default 256; sim nodes share one origin). */
  maxSocketsPerOrigin?: number | undefined;
}

export interface AgentClient {
  /**
   * Calls the agent at `address` and returns what the node says about itself, classified.
   * `expectedClusterId` is the cluster discovery lists the node in. `timeoutMs` overrides the
   * client's per-call budget for this observation (a cluster's own setting); `signal` aborts it.
   */
  observe(address: string, expectedClusterId: string, timeoutMs?: number, signal?: AbortSignal): Promise<NodeObservation>;
  /** Closes pooled connections. Call once, when the worker stops. */
  close(): void;
}

/** Build once per worker: the client pools keep-alive connections across observations. */
export function createAgentClient(options: AgentClientOptions): AgentClient {
  const http: JsonHttpClient = createJsonHttpClient({
    timeoutMs: options.timeoutMs,
    maxResponseBytes: options.maxResponseBytes,
    headers: options.headers,
    timeoutHeader: agentTimeoutHeader,
    tls: options,
    maxSocketsPerOrigin: options.maxSocketsPerOrigin,
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

  return { observe, close: () => http.close() };
}
