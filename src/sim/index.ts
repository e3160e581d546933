export { startSim } from './start-sim.js';
export type { SimHandle, SimOptions } from './start-sim.js';
export { SimFleet, SimAdminError, agentModes } from './fleet.js';
export type { AgentMode, SimChange, SimNodeState, SimStatePatch } from './fleet.js';
export { simKinds, parseKinds } from './kinds.js';
export type { SimKind } from './kinds.js';
export { agentAddressLabel, clusterIdLabel, displayNameLabel } from './discovery-api.js';
export type { SimDiscoveryRecord } from './discovery-api.js';
