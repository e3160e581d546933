// The workflows this worker runs. Type-only exports elsewhere: this file is the bundle's entry.
export { clusterRefresh } from './cluster-refresh.js';
export { discovery } from './discovery.js';
