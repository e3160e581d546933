/** The event-id invariants the end-to-end tests check on what they read from the topic. */
import assert from 'node:assert/strict';
import type { FleetEvent } from '../../src/domain/event-catalogue.js';

/** An event id names one event, ever: every copy of an id among `copies` has the same content. Returns the ids seen. */
export function assertNoIdReused(copies: readonly FleetEvent[]): number {
  const contents = new Map<string, Set<string>>();
  for (const event of copies) contents.set(event.id, (contents.get(event.id) ?? new Set()).add(JSON.stringify(event)));
  for (const [id, seen] of contents) assert.equal(seen.size, 1, `event id ${id} was published with different content:\n${[...seen].join('\n')}`);
  return contents.size;
}

/** One cluster's refresh events (ids `<cluster>/<generation>/<index>`), in topic order: dense within a generation, generations only growing. */
export function assertRefreshIdsInOrder(events: readonly FleetEvent[]): void {
  let previous = { generation: 0, index: -1 };
  for (const event of events) {
    const [, generation, index] = event.id.split('/').map(Number) as [number, number, number];
    if (generation === previous.generation) assert.equal(index, previous.index + 1, `gap before ${event.id}`);
    else assert.ok(generation > previous.generation && index === 0, `out of order at ${event.id}`);
    previous = { generation, index };
  }
}
