// Replays recorded histories against the current workflow code: a change that would break
// running workflows (non-determinism) fails here, in CI, before it reaches a worker.
// Record new ones with FLEETVIEW_RECORD_HISTORIES=1 npm test -- test/e2e (see CONTRIBUTING.md, "Replay tests").
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { workflowsPath } from '../../src/worker.js';

const folder = new URL('./histories/', import.meta.url);

interface RecordedHistory {
  events: Array<{
    workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string }; workflowId?: string; input?: { payloads?: Array<{ data?: string }> } };
  }>;
}

/**
 * The workflow ID the history ran under (the workflows check theirs): `cluster/<cluster_id>` for
 * a cluster refresh, from its input; the CLI's JSON does not carry the ID itself.
 */
function recordedWorkflowId(history: RecordedHistory): string {
  const started = history.events[0]?.workflowExecutionStartedEventAttributes;
  assert.ok(started, 'the history does not start with a workflow start event');
  if (started.workflowType?.name !== 'clusterRefresh') {
    // Workflows without input (discovery) take the ID the server recorded, when it did.
    return started.workflowId ?? `replay-${started.workflowType?.name}`;
  }
  const data = started.input?.payloads?.[0]?.data;
  assert.ok(data, 'the cluster refresh history does not carry its input');
  const input = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { cluster_id?: string };
  return `cluster/${input.cluster_id}`;
}
const files = readdirSync(folder).filter((name) => name.endsWith('.json')).sort();

describe('replay of recorded histories', () => {
  it('has recorded histories to replay', () => {
    assert.ok(files.length > 0, 'test/replay/histories holds no history');
  });

  for (const file of files) {
    it(`replays ${file} deterministically`, async () => {
      // The temporal CLI's JSON, which the SDK converts itself (string event ids mark it).
      const history = JSON.parse(readFileSync(new URL(file, folder), 'utf8')) as RecordedHistory;
      await Worker.runReplayHistory({ workflowsPath: workflowsPath() }, history, recordedWorkflowId(history));
    });
  }
});
