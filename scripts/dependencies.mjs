// Installs the npm dependencies when node_modules is missing or was installed from another
// lockfile (`npm ci`), recorded by a stamp holding the lockfile's hash. Used by `npm test` and
// `npm run demo`. Plain JavaScript: it runs before node_modules exists.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function ensureDependencies(root) {
  const lockHash = createHash('sha256').update(readFileSync(join(root, 'package-lock.json'))).digest('hex');
  const stamp = join(root, 'node_modules', '.fleetview-lock.sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === lockHash) return;
  console.log('== installing dependencies (npm ci)');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`npm ci failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
  writeFileSync(stamp, `${lockHash}\n`);
}
