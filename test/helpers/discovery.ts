/**
 * Helpers of the discovery end-to-end tests: settings documents, discovery runs started by
 * hand, the executions visibility lists, and the discovery settings as a child's environment.
 */
import assert from 'node:assert/strict';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { parseDiscoverySetting, type DiscoverySetting } from '../../src/adapters/discovery/index.js';
import type { Config } from '../../src/config.js';
import { discoveryWorkflowType, type DiscoveryRunResult } from '../../src/workflows/discovery-messages.js';
import { eventually } from './polling.js';
import { configEnv } from './test-config.js';
import { uniqueName } from './unique.js';

export function discoverySetting(raw: Record<string, unknown>): DiscoverySetting {
  const parsed = parseDiscoverySetting(raw, 'test setting');
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.problem);
  return parsed.setting;
}

/** Starts one discovery run (as a schedule tick would) and waits for its result. */
export async function runDiscovery(client: Client, config: Config, workflowId = uniqueName('discovery')): Promise<DiscoveryRunResult> {
  return (await client.workflow.execute(discoveryWorkflowType, { taskQueue: config.temporal.taskQueue, workflowId, args: [] })) as DiscoveryRunResult;
}

/** A run expected to fail (a broken source): its error message and the result it carries. */
export async function runFailingDiscovery(client: Client, config: Config, workflowId = uniqueName('discovery')): Promise<{ message: string; result: DiscoveryRunResult }> {
  try {
    await runDiscovery(client, config, workflowId);
  } catch (err) {
    assert.ok(err instanceof WorkflowFailedError, `expected the run to fail, got ${String(err)}`);
    const cause = err.cause as { message: string; details?: unknown[] } | undefined;
    assert.ok(cause?.details?.[0], 'the failure carries the run result');
    return { message: cause.message, result: cause.details[0] as DiscoveryRunResult };
  }
  assert.fail('the discovery run succeeded');
}

/**
 * Starts of one workflow id, once visibility has caught up with at least one: its executions,
 * a chain of continue-as-new runs counted once (every run of a chain but its last ended
 * ContinuedAsNew). Visibility may briefly list a run that has just continued as still running.
 */
export async function startedChainCount(client: Client, workflowId: string): Promise<number> {
  return eventually(`visibility lists ${workflowId}`, async () => {
    const { count } = await client.workflow.count(`WorkflowId = '${workflowId}' AND ExecutionStatus != 'ContinuedAsNew'`);
    return count > 0 ? count : undefined;
  });
}

/** The configuration as environment variables for a child process, discovery settings included. */
export function discoveryConfigEnv(config: Config): Record<string, string> {
  return {
    ...configEnv(config),
    FLEETVIEW_REFRESH_INTERVAL_S: String(config.refresh.intervalS),
    FLEETVIEW_DISCOVERY_SCHEDULE_ID: config.discovery.scheduleId,
    FLEETVIEW_DISCOVERY_TICK_S: String(config.discovery.tickS),
    FLEETVIEW_DISCOVERY_CATCHUP_S: String(config.discovery.catchupWindowS),
  };
}
