/**
 * The chaos run's own Temporal dev server, Kafka and store: started through scripts/services.sh
 * on free ports, with run and data folders in a temporary directory, so killing, stopping and
 * freezing them touches nobody else's services. Killing is SIGKILL to the service's process
 * group (services.sh starts each server with setsid and writes the group leader's pid); starting
 * again reuses the data folder: the dev server resumes on its SQLite file, Kafka on its log
 * directory, the store on its MVStore file.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../fleet/ports.js';
import { processAlive, servicesScript, type ServiceName } from '../fleet/services.js';

export interface OwnServices {
  readonly kind: 'own';
  readonly dir: string;
  /** The script's environment: ports and folders. */
  readonly scriptEnv: Record<string, string>;
  /** FLEETVIEW_* settings that point fleetview at these services. */
  readonly clientEnv: Record<string, string>;
  readonly temporalAddress: string;
  readonly kafkaBrokers: string[];
  readonly mongoUri: string;
  readonly uiUrl: string;
  /** services.sh start (waits until each answers). Asynchronous: the run's script and readers go on meanwhile. */
  start(...names: ServiceName[]): Promise<void>;
  /** services.sh stop: SIGTERM to the group, SIGKILL after 20 s. */
  stop(...names: ServiceName[]): Promise<void>;
  /** SIGKILL to the service's whole process group, at once; resolves once it is gone. */
  kill(name: ServiceName): Promise<void>;
  freeze(name: ServiceName): void;
  thaw(name: ServiceName): void;
  /** The service's process group (its leader's pid), or null when it does not run. */
  pgid(name: ServiceName): number | null;
  /** Stops everything and deletes the folders. */
  dispose(): Promise<void>;
}

export async function startOwnServices(root: string, log: (line: string) => void): Promise<OwnServices> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetview-chaos-services-'));
  const ports = {
    temporal: await freePort(),
    ui: await freePort(),
    kafka: await freePort(),
    controller: await freePort(),
    store: await freePort(),
  };
  const scriptEnv: Record<string, string> = {
    FLEETVIEW_RUN_DIR: join(dir, 'run'),
    FLEETVIEW_DATA_DIR: join(dir, 'data'),
    FLEETVIEW_TEMPORAL_PORT: String(ports.temporal),
    FLEETVIEW_TEMPORAL_UI_PORT: String(ports.ui),
    FLEETVIEW_KAFKA_PORT: String(ports.kafka),
    FLEETVIEW_KAFKA_CONTROLLER_PORT: String(ports.controller),
    FLEETVIEW_MONGODB_PORT: String(ports.store),
  };
  const temporalAddress = `127.0.0.1:${ports.temporal}`;
  const kafkaBrokers = [`127.0.0.1:${ports.kafka}`];
  const mongoUri = `mongodb://127.0.0.1:${ports.store}/`;
  const uiUrl = `http://127.0.0.1:${ports.ui}`;

  const call = (command: string, names: readonly ServiceName[]): Promise<void> =>
    new Promise((resolve, reject) => {
      execFile('bash', [servicesScript(root), command, ...names], { env: { ...process.env, ...scriptEnv }, encoding: 'utf8', timeout: 300_000 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`scripts/services.sh ${command} ${names.join(' ')} failed (${error.code ?? error.signal}):\n${stdout}${stderr}`.trim()));
        else resolve();
      });
    });
  const pgid = (name: ServiceName): number | null => {
    try {
      const pid = Number(readFileSync(join(scriptEnv.FLEETVIEW_RUN_DIR!, `${name}.pid`), 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : null;
    } catch {
      return null;
    }
  };
  const signal = (name: ServiceName, sig: NodeJS.Signals): number => {
    const group = pgid(name);
    if (group === null) throw new Error(`${name} does not run: nothing to ${sig}`);
    process.kill(-group, sig);
    return group;
  };

  const services: OwnServices = {
    kind: 'own',
    dir,
    scriptEnv,
    clientEnv: {
      FLEETVIEW_TEMPORAL_ADDRESS: temporalAddress,
      FLEETVIEW_TEMPORAL_UI_URL: uiUrl,
      FLEETVIEW_KAFKA_BROKERS: kafkaBrokers.join(','),
      FLEETVIEW_MONGODB_URI: mongoUri,
    },
    temporalAddress,
    kafkaBrokers,
    mongoUri,
    uiUrl,
    start: (...names) => call('start', names),
    stop: (...names) => call('stop', names),
    async kill(name) {
      const group = signal(name, 'SIGKILL');
      const deadline = Date.now() + 20_000;
      while (processAlive(group) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    },
    freeze: (name) => void signal(name, 'SIGSTOP'),
    thaw: (name) => void signal(name, 'SIGCONT'),
    pgid,
    async dispose() {
      // A frozen service cannot stop: thaw first.
      for (const name of ['temporal', 'kafka', 'store'] as const) {
        const group = pgid(name);
        if (group !== null) {
          try {
            process.kill(-group, 'SIGCONT');
          } catch {
            // gone meanwhile
          }
        }
      }
      try {
        await call('stop', []);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  log(`own services in ${dir}: Temporal ${temporalAddress} (UI ${uiUrl}), Kafka ${kafkaBrokers[0]}, store ${mongoUri}`);
  try {
    await services.start('temporal', 'kafka', 'store');
  } catch (err) {
    await services.dispose();
    throw err;
  }
  return services;
}
