import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseServicesEnv } from '../../bench/fleet/services.js';

/** The variables `scripts/services.sh env` prints (binary paths of the installed tools among them). */
export function servicesEnv(extra: Record<string, string> = {}): Record<string, string> {
  const script = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));
  const result = spawnSync('bash', [script, 'env'], { env: { ...process.env, ...extra }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`scripts/services.sh env failed: ${result.stderr}`);
  return parseServicesEnv(result.stdout);
}
