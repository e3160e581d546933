// The operator's cluster controls through the CLI, spawned as a process (bin/fleetview.mjs)
// against the real services, a worker and a simulated fleet: set and unset a setting, pause and
// resume, a maintenance window, show and list, settings apply of a new default (and its failures
// once no worker answers), an unknown cluster, and the audit events the commands cause, naming
// the --actor and the CLI's Temporal identity.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { FleetEvent } from '../../src/domain/event-catalogue.js';
import { startSim, type SimHandle } from '../../src/sim/index.js';
import type { clusterRefresh } from '../../src/workflows/cluster-refresh.js';
import type { ControlsResult, ControlsState } from '../../src/workflows/messages.js';
import { cleanUp, cleanupBound, setupBound } from '../helpers/bounded.js';
import { expectExit, runFleetview, type CliResult } from '../helpers/cli.js';
import { eventually } from '../helpers/polling.js';
import { connectClient, terminateQuietly, waitForView } from '../helpers/temporal.js';
import { configEnv, testConfig } from '../helpers/test-config.js';
import { TopicReader } from '../helpers/topic-reader.js';
import { startTestWorker, type TestWorker } from '../helpers/worker.js';
import { assertDoorAnswer } from '../helpers/readme-doors.js';
import { uniqueName } from '../helpers/unique.js';

const config = testConfig({ FLEETVIEW_REFRESH_INTERVAL_S: '2' });
const baseEnv: NodeJS.ProcessEnv = { ...process.env, ...configEnv(config), FLEETVIEW_REFRESH_INTERVAL_S: '2' };

let sim: SimHandle;
let worker: TestWorker | undefined;
let temporal: Awaited<ReturnType<typeof connectClient>>;
let reader: TopicReader;
const handles: Array<WorkflowHandle<typeof clusterRefresh>> = [];
let a: string;
let b: string;

function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runFleetview(args, { ...baseEnv, ...env });
}

async function json<T>(args: string[], what: string, env: Record<string, string> = {}): Promise<T> {
  const result = await cli([...args, '--json'], env);
  expectExit(result, 0, what);
  return JSON.parse(result.stdout) as T;
}

before(async () => {
  sim = await startSim({ clusters: 2, nodes: 2, idPrefix: `${uniqueName('cli-controls')}-` });
  [a, b] = sim.records().map((record) => record.cluster_id) as [string, string];
  temporal = await connectClient(config);
  worker = await startTestWorker(config);
  reader = await new TopicReader(config).start({ waitForTopicMs: 60_000 });
  // Started as discovery starts them: the flat settings are the default layer.
  for (const record of sim.records()) {
    handles.push(
      await temporal.client.workflow.start<typeof clusterRefresh>('clusterRefresh', {
        taskQueue: config.temporal.taskQueue,
        workflowId: `cluster/${record.cluster_id}`,
        args: [{ ...record, refresh_interval_s: 2, node_retire_grace_s: 30, cluster_retire_grace_s: 30 }],
      }),
    );
  }
  for (const handle of handles) await waitForView(handle, (q) => (q.view?.generation ?? 0) >= 1, 60_000, `the first refresh of ${handle.workflowId}`);
}, setupBound);

after(
  () =>
    cleanUp({
      'stopping the worker': () => worker?.stop(),
      'terminating the cluster workflows': async () => {
        for (const handle of handles) await terminateQuietly(handle);
      },
      'stopping the topic reader': () => reader?.stop(),
      'closing the Temporal client': () => temporal?.close(),
      'stopping the sim': () => sim?.close(),
    }),
  cleanupBound,
);

const audit = (events: FleetEvent[], clusterId: string, code: string) => events.filter((event) => event.cluster_id === clusterId && event.event === code);
const actorOf = (event: FleetEvent) => (event.payload as { actor?: { user: string; identity: string | null } }).actor;

describe('fleetview cluster and settings commands', () => {
  it('set and unset: the operator layer, shown with each setting and its source', async () => {
    const set = await cli(['cluster', 'set', a, '--interval', '1s', '--agent-timeout', '2s', '--actor', 'alice']);
    expectExit(set, 0, 'cluster set');
    assert.match(set.stdout, new RegExp(`^${a}: settings changed; revision \\d+$`, 'm'));
    assert.match(set.stdout, /^SETTING\s+VALUE\s+FROM\s+OPERATOR\s+DISCOVERY\s+DEFAULT$/m);
    assert.match(set.stdout, /^interval\s+1s\s+operator\s+1s\s+-\s+2s\s+<- set to 1s$/m);
    assert.match(set.stdout, /^agent-timeout\s+2s\s+operator\s+2s\s+/m);
    assert.match(set.stdout, /^node-grace\s+30s\s+default\s+-\s+-\s+30s$/m);
    assert.match(set.stdout, /^paused\s+no$/m);

    const again = await json<ControlsResult>(['cluster', 'set', a, '--interval', '1'], 'cluster set again');
    assert.equal(again.changed, false, 'the same value changes nothing');
    assert.deepEqual(again.settings.refresh_interval_s, { value: 1, source: 'operator' });

    const show = await cli(['cluster', 'show', a]);
    expectExit(show, 0, 'cluster show');
    assert.match(show.stdout, /^paused {7}no$/m);
    assert.match(show.stdout, /^maintenance {2}no$/m);
    assert.match(show.stdout, new RegExp(`^controls {5}revision \\d+, from workflow cluster/${a}$`, 'm'));
    assert.match(show.stdout, /^interval\s+1s\s+operator/m);
    assert.match(show.stdout, new RegExp(`^cluster  ${a} `, 'm'), 'the view follows');
    assert.ok(show.stdout.indexOf('paused') < show.stdout.indexOf('cluster  '), 'the controls come first');

    const unset = await json<ControlsResult>(['cluster', 'unset', a, '--interval', '--agent-timeout'], 'cluster unset');
    assert.equal(unset.changed, true);
    assert.deepEqual(unset.settings.refresh_interval_s, { value: 2, source: 'default' });
    assert.deepEqual(unset.layers.operator, {});

    const events = await reader.waitFor((all) => audit(all, a, 'CLUSTER_SETTINGS_CHANGED').length >= 2);
    const [first] = audit(events, a, 'CLUSTER_SETTINGS_CHANGED');
    assert.equal(actorOf(first!)?.user, 'alice');
    assert.match(actorOf(first!)?.identity ?? '', /^\d+@/, 'the CLI process\'s Temporal identity');
  });

  it('pause and resume: shown in the list, a refresh refused meanwhile, resume twice is unchanged', async () => {
    const pause = await cli(['cluster', 'pause', a, '--for', '1h', '--reason', 'disk swap', '--actor', 'alice']);
    expectExit(pause, 0, 'cluster pause');
    assert.match(pause.stdout, new RegExp(`^${a}: paused until \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z; revision \\d+$`, 'm'));
    assert.match(pause.stdout, /^paused\s+until \S+ \(in 60m\), since \d+s ago, by alice \(\d+@\S+\): disk swap$/m);

    const list = await cli(['cluster', 'list']);
    expectExit(list, 0, 'cluster list');
    assert.match(list.stdout, /^CLUSTER\s+STATUS\s+NODES\s+AGENTS DOWN\s+NODES DOWN\s+LAST REFRESH\s+PAUSED\s+MAINTENANCE\s+DISCOVERY$/m);
    assert.match(list.stdout, new RegExp(`^${a}\\s+HEALTHY\\s+2\\s+0\\s+0\\s+\\d+s ago\\s+until in 60m\\s+-\\s+-$`, 'm'));
    assert.match(list.stdout, new RegExp(`^${b}\\s+HEALTHY\\s+2\\s+0\\s+0\\s+\\d+s ago\\s+-\\s+-\\s+-$`, 'm'));
    const clusters = await cli(['clusters']);
    assert.doesNotMatch(clusters.stdout, /PAUSED/, '`clusters` stays as it was');
    const listed = await json<Array<{ cluster_id: string; paused: { reason: string } | null }>>(['cluster', 'list'], 'cluster list --json');
    assert.equal(listed.find((row) => row.cluster_id === a)?.paused?.reason, 'disk swap');

    const refresh = await cli(['refresh', a, '--wait', '--timeout', '20']);
    expectExit(refresh, 1, 'refresh --wait of a paused cluster');
    assert.match(refresh.stderr, /is paused .*disk swap; resume it first/);

    const resume = await cli(['cluster', 'resume', a]);
    expectExit(resume, 0, 'cluster resume');
    assert.match(resume.stdout, new RegExp(`^${a}: resumed: polling again; revision`, 'm'));
    const twice = await cli(['cluster', 'resume', a]);
    expectExit(twice, 0, 'cluster resume again');
    assert.match(twice.stdout, new RegExp(`^${a}: not paused \\(unchanged: it was so already\\)`, 'm'));

    const events = await reader.waitFor((all) => audit(all, a, 'CLUSTER_RESUMED').length >= 1);
    assert.equal(actorOf(audit(events, a, 'CLUSTER_PAUSED')[0]!)?.user, 'alice');
  });

  it('maintenance: a window with its end, listed, then ended by --end', async () => {
    const start = await cli(['cluster', 'maintenance', b, '--for', '2h', '--reason', 'rolling restart']);
    expectExit(start, 0, 'cluster maintenance');
    assert.match(start.stdout, new RegExp(`^${b}: in maintenance until \\S+Z; revision`, 'm'));
    const list = await cli(['cluster', 'list']);
    assert.match(list.stdout, new RegExp(`^${b}\\s+\\S+\\s+2\\s+\\d+\\s+\\d+\\s+\\d+s ago\\s+-\\s+until in (2h|120m)\\s+-$`, 'm'));
    const needsEnd = await cli(['cluster', 'maintenance', b, '--reason', 'no end']);
    expectExit(needsEnd, 2, 'maintenance without an end');
    const end = await cli(['cluster', 'maintenance', b, '--end']);
    expectExit(end, 0, 'cluster maintenance --end');
    assert.match(end.stdout, new RegExp(`^${b}: maintenance ended; revision`, 'm'));
    assert.match(end.stdout, /^maintenance\s+no$/m);
  });

  it('refresh names who asked, by signal and by update', async () => {
    expectExit(await cli(['refresh', b, '--actor', 'carol']), 0, 'refresh');
    expectExit(await cli(['refresh', b, '--wait', '--actor', 'dave']), 0, 'refresh --wait');
    const events = await reader.waitFor((all) => audit(all, b, 'CLUSTER_REFRESH_REQUESTED').length >= 2);
    const requested = audit(events, b, 'CLUSTER_REFRESH_REQUESTED').map((event) => [actorOf(event)?.user, (event.payload as { wait: boolean }).wait]);
    assert.deepEqual(requested, [
      ['carol', false],
      ['dave', true],
    ]);
  });

  it('an unknown cluster is exit 3, as docs/reference/bad-input.md says', async () => {
    for (const args of [
      ['set', 'no-such-cluster', '--interval', '60s'],
      ['unset', 'no-such-cluster', '--interval'],
      ['pause', 'no-such-cluster', '--reason', 'r'],
      ['resume', 'no-such-cluster'],
      ['maintenance', 'no-such-cluster', '--for', '1h', '--reason', 'r'],
    ]) {
      const result = await cli(['cluster', ...args]);
      const door = 'an unknown cluster: `fleetview cluster set CLUSTER`, `unset`, `pause`, `resume`, `maintenance`';
      assertDoorAnswer(door, '`no-such-cluster`', { text: result.stderr, exit: result.code, accepted: result.code === 0 });
    }
  });

  it('settings apply: a new config default reaches every running cluster without a restart', async () => {
    const env = { FLEETVIEW_REFRESH_INTERVAL_S: '3' };
    // Visibility lists a started workflow a moment later.
    const dry = await eventually('both clusters listed by settings apply --dry-run', async () => {
      const result = await json<{ clusters: string[] }>(['settings', 'apply', '--dry-run'], 'settings apply --dry-run', env);
      return result.clusters.includes(a) && result.clusters.includes(b) ? result : undefined;
    });
    assert.equal(dry.clusters.length, 2, 'only the clusters of this task queue');
    const applied = await cli(['settings', 'apply', '--actor', 'bob'], env);
    expectExit(applied, 0, 'settings apply');
    assert.match(applied.stdout, /defaults \(refresh_interval_s 3s, agent_timeout_ms 1s\) sent to 2 running clusters: 2 changed, 0 unchanged, 0 failed$/m);
    assert.match(applied.stderr, /sending the defaults .* to 2 running clusters, 8 at a time/);
    const again = await cli(['settings', 'apply'], env);
    assert.match(again.stdout, /: 0 changed, 2 unchanged, 0 failed$/m);

    const shown = await json<{ source: string; controls: ControlsState }>(['cluster', 'show', a], 'cluster show --json');
    assert.equal(shown.source, 'workflow');
    assert.deepEqual(shown.controls.layers.default, { refresh_interval_s: 3, agent_timeout_ms: 1000, node_retire_grace_s: 30, cluster_retire_grace_s: 30 });
    assert.deepEqual(shown.controls.settings.refresh_interval_s, { value: 3, source: 'default' });
    const events = await reader.waitFor((all) => audit(all, a, 'CLUSTER_SETTINGS_CHANGED').some((event) => actorOf(event)?.user === 'bob'));
    const byBob = audit(events, a, 'CLUSTER_SETTINGS_CHANGED').find((event) => actorOf(event)?.user === 'bob')!;
    assert.equal((byBob.payload as { layer: string }).layer, 'default');
  });

  it('without a worker: show and list read the store, updates and settings apply give up after --timeout', async () => {
    expectExit(await cli(['cluster', 'pause', a, '--reason', 'store check']), 0, 'pause until resumed');
    await worker?.stop();
    worker = undefined;
    const show = await cli(['cluster', 'show', a, '--timeout', '1']);
    expectExit(show, 0, 'cluster show without a worker');
    assert.match(show.stderr, new RegExp(`no answer to the view query of cluster/${a} within 1 s`));
    assert.match(show.stdout, /^paused {7}until resumed, since \d+s ago, by \S+ \(\d+@\S+\): store check$/m);
    assert.match(show.stdout, /^controls {5}revision \d+, from MongoDB/m);
    assert.match(show.stdout, /^source {3}MongoDB/m);
    const list = await cli(['cluster', 'list']);
    assert.match(list.stdout, new RegExp(`^${a}\\s.*\\syes\\s+-\\s+-$`, 'm'));

    const resume = await cli(['cluster', 'resume', a, '--timeout', '2']);
    expectExit(resume, 1, 'resume without a worker');
    assert.match(resume.stderr, new RegExp(`no answer from cluster/${a} within 2 s: is a worker polling task queue`));
    const apply = await cli(['settings', 'apply', '--timeout', '2'], { FLEETVIEW_REFRESH_INTERVAL_S: '4' });
    expectExit(apply, 1, 'settings apply without a worker');
    assert.match(apply.stdout, new RegExp(`^FAILED  ${a}: no answer within 2 s$`, 'm'));
    assert.match(apply.stdout, /: 0 changed, 0 unchanged, 2 failed$/m);
    assert.match(apply.stderr, /2 of 2 clusters did not take the defaults; run it again to retry them/);
  });
});
