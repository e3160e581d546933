#!/usr/bin/env node
// The `fleetview` command (package.json bin): loads the TypeScript sources through tsx, which
// ships with fleetview's dependencies, and runs the operator CLI (src/starter.ts).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/starter.ts');
await main();
