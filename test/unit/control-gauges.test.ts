// The worker's pause and maintenance gauges (src/adapters/control-gauges.ts): counted from the
// stored windows that hold now, kept at their last value while the store fails (logged once).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { MetricGauge, MetricMeter } from '@temporalio/common';
import { countActiveWindows, startControlGauges } from '../../src/adapters/control-gauges.js';
import type { StoredControls } from '../../src/adapters/control-store.js';
import { createLogger } from '../../src/adapters/logger.js';
import type { ControlWindow } from '../../src/domain/cluster-controls.js';

const nowMs = Date.parse('2026-12-02T12:00:00.000Z');
const window = (until: string | null): ControlWindow => ({ since: '2026-12-02T10:00:00.000Z', until, reason: 'r', actor: { user: 'ops', identity: null } });
const stored = (id: string, pause: ControlWindow | null, maintenance: ControlWindow | null): StoredControls => ({
  cluster_id: id,
  updated_at: '2026-12-02T10:00:00.000Z',
  revision: 1,
  operator: {},
  pause,
  maintenance,
});

function fakeMeter() {
  const values = new Map<string, number>();
  const gauge = (name: string): MetricGauge => ({ name, unit: '', description: '', valueType: 'int', kind: 'gauge', set: (value: number) => values.set(name, value), withTags: () => gauge(name) }) as unknown as MetricGauge;
  const meter = { createGauge: (name: string) => gauge(name) } as unknown as MetricMeter;
  return { meter, values };
}

it('counts the windows that hold now: an ended one counts no more, a pause without an end does', () => {
  const counts = countActiveWindows(
    [
      stored('a', window(null), null),
      stored('b', window('2026-12-02T13:00:00.000Z'), window('2026-12-02T12:30:00.000Z')),
      stored('c', window('2026-12-02T11:00:00.000Z'), window('2026-12-02T12:00:00.000Z')),
      stored('d', null, null),
    ],
    nowMs,
  );
  assert.deepEqual(counts, { paused: 2, maintenance: 1 });
});

it('sets both gauges from the store; a failing or silent read keeps the last values and logs once', async () => {
  const { meter, values } = fakeMeter();
  const lines: string[] = [];
  const logger = createLogger('info', {}, (line) => lines.push(line));
  let answer: () => Promise<StoredControls[]> = () => Promise.resolve([stored('a', window(null), window('2026-12-02T13:00:00.000Z'))]);
  const gauges = startControlGauges({ meter, store: { listWindows: () => answer() }, logger, timeoutMs: 50, intervalMs: 3_600_000, now: () => nowMs });
  try {
    await gauges.update();
    assert.deepEqual(Object.fromEntries(values), { fleetview_clusters_paused: 1, fleetview_clusters_in_maintenance: 1 });
    answer = () => Promise.reject(new Error('store down'));
    await gauges.update();
    // A read that never answers is cut at the timeout.
    answer = () => new Promise(() => undefined);
    await gauges.update();
    assert.deepEqual(Object.fromEntries(values), { fleetview_clusters_paused: 1, fleetview_clusters_in_maintenance: 1 }, 'the last values stay');
    assert.equal(lines.filter((line) => line.includes('counting paused clusters and maintenance windows failed')).length, 1, lines.join(''));
    answer = () => Promise.resolve([]);
    await gauges.update();
    assert.deepEqual(Object.fromEntries(values), { fleetview_clusters_paused: 0, fleetview_clusters_in_maintenance: 0 });
    assert.ok(lines.some((line) => line.includes('works again')));
  } finally {
    await gauges.stop();
  }
});
