/**
 * Starts a simulated fleet: the model, the HTTP server, and the discovery file kept in step
 * with membership. The programmatic entry point of tests, the demo and the benchmarks.
 */
import { renameSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { SimFleet } from './fleet.js';
import type { SimKind } from './kinds.js';
import { discoveryRecords, nodeUrl } from './discovery-api.js';
import type { SimDiscoveryRecord } from './discovery-api.js';
import { createSimServer } from './server.js';
import type { SimServerStats } from './server.js';

export interface SimOptions {
  /** Number of clusters. */
  clusters: number;
  /** Nodes per cluster. */
  nodes: number;
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Kinds assigned round-robin to clusters (default mongodb, kafka, zookeeper). */
  kinds?: readonly SimKind[];
  /** Partitions of each Kafka-like cluster (default 8). */
  partitions?: number;
  /** Prepended to every cluster id (`run7-mongo-0`): tests sharing Temporal, Kafka and MongoDB stay apart. */
  idPrefix?: string;
  /** Records per page of `POST /discovery` (default 50). */
  pageSize?: number;
  /** Default delay of the `slow` agent mode, in ms (default 3000). */
  slowMs?: number;
  /** Body size of the `oversize` agent mode, in bytes (default 10 MiB). */
  oversizeBytes?: number;
  /** Written at start and rewritten whenever nodes join or leave (file-source JSON). */
  discoveryFile?: string;
}

export interface SimHandle {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The model, for direct inspection (tests drive changes through the admin API). */
  readonly fleet: SimFleet;
  /** Base URL of a node's agent: `<url>/c/<cluster>/n/<node>`. */
  nodeUrl(clusterId: string, nodeName: string): string;
  /** The discovery records as served and written (node URL form). */
  records(): SimDiscoveryRecord[];
  stats(): SimServerStats;
  close(): Promise<void>;
}

export async function startSim(options: SimOptions): Promise<SimHandle> {
  const fleet = new SimFleet({
    clusters: options.clusters,
    nodesPerCluster: options.nodes,
    ...(options.kinds ? { kinds: options.kinds } : {}),
    ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
    ...(options.slowMs === undefined ? {} : { slowMs: options.slowMs }),
    ...(options.idPrefix === undefined ? {} : { idPrefix: options.idPrefix }),
  });
  const sim = createSimServer(fleet, { pageSize: options.pageSize ?? 50, oversizeBytes: options.oversizeBytes ?? 10 * 1024 * 1024 });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    sim.server.once('error', reject);
    sim.server.listen(options.port ?? 0, host, () => {
      sim.server.off('error', reject);
      resolve();
    });
  });
  const port = (sim.server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  sim.setBaseUrl(url);

  const records = (): SimDiscoveryRecord[] => discoveryRecords(fleet, url);
  const discoveryFile = options.discoveryFile;
  if (discoveryFile) {
    const write = (): void => {
      // Written whole then renamed: a file source reading at that moment never sees half a list.
      const temporary = `${discoveryFile}.${process.pid}.tmp`;
      writeFileSync(temporary, `${JSON.stringify(records(), null, 2)}\n`);
      renameSync(temporary, discoveryFile);
    };
    write();
    fleet.onMembershipChange(write);
  }

  return {
    url,
    port,
    fleet,
    nodeUrl: (clusterId, nodeName) => nodeUrl(url, fleet.node(clusterId, nodeName)),
    records,
    stats: () => sim.stats(),
    close: () => sim.close(),
  };
}
