/**
 * The node status transition table of design/events.md, written as data so the table in the
 * spec and the code can be compared row by row. A changed reason with the same code is no
 * transition.
 */
import type { NodeStatusCode } from './observation.js';

export type StatusTransitionEvent = 'AGENT_NEW' | 'AGENT_UP' | 'AGENT_DOWN' | 'NODE_UP' | 'NODE_DOWN';

/** from (`NEW` for a node seen the first time) → to → events, in emission order. */
export const statusTransitionTable = {
  NEW: { UP: ['AGENT_NEW'], NODE_DOWN: ['AGENT_NEW', 'NODE_DOWN'], AGENT_DOWN: ['AGENT_NEW', 'AGENT_DOWN'] },
  UP: { UP: [], NODE_DOWN: ['NODE_DOWN'], AGENT_DOWN: ['AGENT_DOWN'] },
  NODE_DOWN: { UP: ['NODE_UP'], NODE_DOWN: [], AGENT_DOWN: ['AGENT_DOWN'] },
  AGENT_DOWN: { UP: ['AGENT_UP'], NODE_DOWN: ['NODE_DOWN'], AGENT_DOWN: [] },
} as const satisfies Record<'NEW' | NodeStatusCode, Record<NodeStatusCode, readonly StatusTransitionEvent[]>>;

/** The events for a node going from `before` (null: first seen) to `after`. */
export function statusTransitionEvents(
  before: NodeStatusCode | null,
  after: NodeStatusCode,
): readonly StatusTransitionEvent[] {
  return statusTransitionTable[before ?? 'NEW'][after];
}
