#!/usr/bin/env node
// `npm run demo [-- --once]`: installs the dependencies when needed, then runs scripts/demo.ts
// (TypeScript, through tsx). Plain JavaScript: it must run in a fresh clone.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDependencies } from './dependencies.mjs';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
ensureDependencies(root);

const demo = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
// Ctrl-C reaches the demo as well (same process group): it stops what it started, then exits.
// This process only waits for it.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => demo.kill('SIGTERM'));
demo.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
