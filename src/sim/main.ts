/**
 * `npm run sim -- --clusters 3 --nodes 3 --port 7070 --discovery-file /tmp/d.json`
 * Serves a simulated fleet until SIGINT/SIGTERM. Prints exactly one line, `sim ready <url>`,
 * once listening (scripts wait for it); errors go to stderr. See docs/reference/sim.md.
 */
import { parseArgs } from 'node:util';
import { parseKinds } from './kinds.js';
import { startSim } from './start-sim.js';

const usage = `usage: npm run sim -- [--clusters N] [--nodes M] [--port P] [--host H] [--discovery-file F]
                      [--kinds mongodb,kafka,zookeeper] [--partitions N] [--page-size N]
                      [--slow-ms MS] [--oversize-bytes N] [--id-prefix P]`;

function integerOption(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      clusters: { type: 'string' },
      nodes: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'discovery-file': { type: 'string' },
      kinds: { type: 'string' },
      partitions: { type: 'string' },
      'page-size': { type: 'string' },
      'slow-ms': { type: 'string' },
      'oversize-bytes': { type: 'string' },
      'id-prefix': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stderr.write(`${usage}\n`);
    return;
  }
  const sim = await startSim({
    clusters: integerOption('clusters', values.clusters, 3, 1),
    nodes: integerOption('nodes', values.nodes, 3, 1),
    port: integerOption('port', values.port, 7070, 0),
    host: values.host ?? '127.0.0.1',
    kinds: values.kinds === undefined ? undefined : parseKinds(values.kinds),
    partitions: integerOption('partitions', values.partitions, 8, 1),
    pageSize: integerOption('page-size', values['page-size'], 50, 1),
    slowMs: integerOption('slow-ms', values['slow-ms'], 3000, 0),
    oversizeBytes: integerOption('oversize-bytes', values['oversize-bytes'], 10 * 1024 * 1024, 1),
    ...(values['discovery-file'] ? { discoveryFile: values['discovery-file'] } : {}),
    ...(values['id-prefix'] ? { idPrefix: values['id-prefix'] } : {}),
  });
  process.stdout.write(`sim ready ${sim.url}\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    sim.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`sim: error while closing: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`sim: ${error instanceof Error ? error.message : String(error)}\n${usage}\n`);
  process.exit(1);
});
