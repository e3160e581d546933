/**
 * The Prometheus anchor: Debian's `prometheus` scraping every sim node's /metrics through the
 * sim's /http_sd at the refresh interval, with one alerting rule, `fleetview_sim_datastore_up == 0`,
 * evaluated at the same interval. Measured: time until every target is up, CPU per scrape over
 * the window (scrapes counted by the sim), and detection latency from a datastore going down to
 * its alert firing (the alert's activeAt, the evaluation that fired it, read from /api/v1/alerts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { measureDetection, stateFault, type DetectionResult } from './detection.js';
import { delay, spawnGroup } from './processes.js';
import { getJson, type SimProcess } from './sim-process.js';
import { ratio, round, sample } from './stats.js';
import { UsageWindow, type ProcessCost } from './usage-window.js';
import { freePort } from './ports.js';

export interface PrometheusResult {
  targets: number;
  /** From the start of the process to every target's first successful scrape. */
  all_targets_up_s: number | null;
  window_s: number;
  scrapes: number;
  /** Scrapes done ÷ due over the window. */
  scrapes_done_ratio: number | null;
  cpu_ms_per_scrape: number | null;
  sim_cpu_ms_per_scrape: number | null;
  prometheus: ProcessCost;
  sim: ProcessCost;
  detection_datastore_down: DetectionResult;
}

interface Target {
  health: string;
}

interface Alert {
  labels: Record<string, string>;
  state: string;
  activeAt?: string;
}

function configFiles(dir: string, simUrl: string, intervalS: number): string {
  // A scrape must end before the next one starts; Prometheus refuses a timeout above the interval.
  const timeoutS = Math.min(10, intervalS);
  writeFileSync(
    join(dir, 'rules.yml'),
    [
      'groups:',
      '  - name: fleetview-bench',
      `    interval: ${intervalS}s`,
      '    rules:',
      '      - alert: DatastoreDown',
      '        expr: fleetview_sim_datastore_up == 0',
      '',
    ].join('\n'),
  );
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      `  scrape_interval: ${intervalS}s`,
      `  scrape_timeout: ${timeoutS}s`,
      `  evaluation_interval: ${intervalS}s`,
      'rule_files: [rules.yml]',
      'scrape_configs:',
      '  - job_name: fleetview-sim',
      '    http_sd_configs:',
      `      - url: ${simUrl}/http_sd`,
      `        refresh_interval: ${intervalS}s`,
      // Every sim node shares one host:port, so the default instance label would merge the
      // nodes' series; the node's agent address names it instead (__metrics_path__ comes from the sim).
      '    relabel_configs:',
      '      - source_labels: [__meta_agent_address]',
      '        target_label: instance',
      '',
    ].join('\n'),
  );
  return config;
}

export async function runPrometheusAnchor(
  cleanup: Cleanup,
  root: string,
  logDir: string,
  sim: SimProcess,
  intervalS: number,
  measureS: number,
  faultCount: number,
): Promise<PrometheusResult> {
  const mark = cleanup.mark();
  const dir = mkdtempSync(join(logDir, 'prometheus-'));
  cleanup.add('deleting the Prometheus data', () => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const startedMs = Date.now();
  const group = spawnGroup(
    'prometheus',
    'prometheus',
    [`--config.file=${configFiles(dir, sim.url, intervalS)}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { cwd: dir, logFile: join(logDir, 'prometheus.log') },
  );
  cleanup.add('stopping Prometheus', () => group.stop(10_000));
  try {
    const upDeadline = Date.now() + Math.max(60, 3 * intervalS + 30) * 1000;
    let allUpS: number | null = null;
    while (Date.now() < upDeadline && !group.exited()) {
      const targets = await getJson(`${api}/api/v1/targets?state=active`, 5000)
        .then((body) => (body as { data: { activeTargets: Target[] } }).data.activeTargets)
        .catch(() => [] as Target[]);
      if (targets.length === sim.nodes.length && targets.every((target) => target.health === 'up')) {
        allUpS = (Date.now() - startedMs) / 1000;
        break;
      }
      await delay(200);
    }
    if (group.exited()) throw new Error(`prometheus exited: ${group.tail()}`);

    const usage = new UsageWindow({ prometheus: group.pgid, sim: sim.group.pgid });
    const requestsBefore = await sim.nodeRequests();
    usage.start();
    await delay(measureS * 1000);
    const { seconds, costs } = usage.end();
    const scrapes = (await sim.nodeRequests()) - requestsBefore;

    // Alerts are polled in the background; each node's first firing alert is kept.
    const firingSince = new Map<string, number>();
    let polling = true;
    const alertPoller = (async () => {
      while (polling) {
        const alerts = await getJson(`${api}/api/v1/alerts`, 5000)
          .then((body) => (body as { data: { alerts: Alert[] } }).data.alerts)
          .catch(() => [] as Alert[]);
        for (const alert of alerts) {
          const instance = alert.labels.instance;
          if (alert.state !== 'firing' || instance === undefined || firingSince.has(instance)) continue;
          const activeAt = alert.activeAt ? Date.parse(alert.activeAt) : NaN;
          firingSince.set(instance, Number.isNaN(activeAt) ? Date.now() : activeAt);
        }
        await delay(250);
      }
    })();
    let detection: DetectionResult;
    try {
      detection = await measureDetection(
        sample(sim.nodes, faultCount).map((node) => stateFault(sim, node, { datastore: 'down' }, { datastore: 'up' }, () => firingSince.get(node.address))),
        intervalS,
        3 * intervalS + 10,
      );
    } finally {
      polling = false;
      await alertPoller;
    }

    const due = (sim.nodes.length * seconds) / intervalS;
    return {
      targets: sim.nodes.length,
      all_targets_up_s: round(allUpS, 1),
      window_s: round(seconds, 1)!,
      scrapes,
      scrapes_done_ratio: round(ratio(scrapes, due), 3),
      cpu_ms_per_scrape: round(ratio(costs.prometheus!.cpu_s, scrapes / 1000), 3),
      sim_cpu_ms_per_scrape: round(ratio(costs.sim!.cpu_s, scrapes / 1000), 3),
      prometheus: costs.prometheus!,
      sim: costs.sim!,
      detection_datastore_down: detection,
    };
  } finally {
    await cleanup.undoTo(mark);
  }
}
