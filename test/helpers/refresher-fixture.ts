/**
 * One cluster's refresher with everything it needs: a sim of the cluster, a worker and a client
 * on the test's configuration, and the cluster's workflow started with a one-hour interval (tests
 * force refreshes). close() undoes all of it.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { Config } from '../../src/config.js';
import { startSim, type SimHandle, type SimOptions } from '../../src/sim/index.js';
import type { clusterRefresh } from '../../src/workflows/cluster-refresh.js';
import { connectClient, terminateQuietly, type TestClient } from './temporal.js';
import { startTestWorker } from './worker.js';

export interface RefresherFixture {
  sim: SimHandle;
  temporal: TestClient;
  handle: WorkflowHandle<typeof clusterRefresh>;
  close(): Promise<void>;
}

export async function startRefresherFixture(config: Config, sim: Omit<SimOptions, 'clusters'>, settings: Record<string, number> = {}): Promise<RefresherFixture> {
  const simHandle = await startSim({ ...sim, clusters: 1 });
  const temporal = await connectClient(config);
  const worker = await startTestWorker(config);
  const record = simHandle.records()[0]!;
  const handle = await temporal.client.workflow.start<typeof clusterRefresh>('clusterRefresh', {
    taskQueue: config.temporal.taskQueue,
    workflowId: `cluster/${record.cluster_id}`,
    args: [{ ...record, refresh_interval_s: 3600, ...settings }],
  });
  return {
    sim: simHandle,
    temporal,
    handle,
    async close() {
      await terminateQuietly(handle);
      await worker.stop();
      await temporal.close();
      await simHandle.close();
    },
  };
}
