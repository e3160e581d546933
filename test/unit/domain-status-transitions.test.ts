import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { statusTransitionEvents } from '../../src/domain/index.js';
import type { ClusterView, FleetEvent, NodeObservation, NodeStatusCode } from '../../src/domain/index.js';
import { agentDown, at, node, nodeDown, record, refresh, up } from './domain-fixtures.js';

type StatusEvent = Extract<FleetEvent, { event: 'AGENT_NEW' | 'AGENT_UP' | 'AGENT_DOWN' | 'NODE_UP' | 'NODE_DOWN' }>;
const statusEventCodes: ReadonlySet<string> = new Set(['AGENT_NEW', 'AGENT_UP', 'AGENT_DOWN', 'NODE_UP', 'NODE_DOWN']);
const isStatusEvent = (event: FleetEvent): event is StatusEvent => statusEventCodes.has(event.event);

function observe(code: NodeStatusCode, reason = 'first reason'): NodeObservation {
  if (code === 'UP') return up(1);
  return code === 'NODE_DOWN' ? nodeDown(1, reason) : agentDown(1, reason);
}

function viewWithNodeIn(code: NodeStatusCode): ClusterView {
  return refresh(null, record([1]), [observe(code)], at(0)).view;
}

// design/events.md, "Transition table (from \ to)", restated here from the spec on purpose:
// the code's table lives in src/domain/status-transitions.ts and must agree with this one.
const specTable: Array<{ from: NodeStatusCode | null; to: NodeStatusCode; events: string[] }> = [
  { from: null, to: 'UP', events: ['AGENT_NEW'] },
  { from: null, to: 'NODE_DOWN', events: ['AGENT_NEW', 'NODE_DOWN'] },
  { from: null, to: 'AGENT_DOWN', events: ['AGENT_NEW', 'AGENT_DOWN'] },
  { from: 'UP', to: 'UP', events: [] },
  { from: 'UP', to: 'NODE_DOWN', events: ['NODE_DOWN'] },
  { from: 'UP', to: 'AGENT_DOWN', events: ['AGENT_DOWN'] },
  { from: 'NODE_DOWN', to: 'UP', events: ['NODE_UP'] },
  { from: 'NODE_DOWN', to: 'NODE_DOWN', events: [] },
  { from: 'NODE_DOWN', to: 'AGENT_DOWN', events: ['AGENT_DOWN'] },
  { from: 'AGENT_DOWN', to: 'UP', events: ['AGENT_UP'] },
  { from: 'AGENT_DOWN', to: 'NODE_DOWN', events: ['NODE_DOWN'] },
  { from: 'AGENT_DOWN', to: 'AGENT_DOWN', events: [] },
];

describe('node status transitions (events.md table)', () => {
  for (const row of specTable) {
    const name = `${row.from ?? '(new node)'} -> ${row.to}: ${row.events.join(' + ') || 'none'}`;
    it(name, () => {
      const previous = row.from === null ? null : viewWithNodeIn(row.from);
      const { view, events } = refresh(previous, record([1]), [observe(row.to, 'second reason')], at(1));
      const emitted = events.filter(isStatusEvent);
      assert.deepEqual(
        emitted.map((event) => event.event),
        row.events,
      );
      assert.deepEqual(statusTransitionEvents(row.from, row.to), row.events);
      assert.equal(view.members[0]?.status.code, row.to);
      for (const event of emitted) {
        if (event.event === 'AGENT_NEW') {
          assert.deepEqual(event.payload, { address: node(1), status: view.members[0]?.status });
        } else {
          assert.equal(event.payload.address, node(1));
          assert.deepEqual(event.payload.before, previous?.members[0]?.status ?? null);
          assert.deepEqual(event.payload.after, view.members[0]?.status);
        }
      }
    });
  }

  for (const code of ['NODE_DOWN', 'AGENT_DOWN'] as const) {
    it(`${code} with a different reason is no transition, but the view keeps the new reason`, () => {
      const first = refresh(null, record([1]), [observe(code, 'first reason')], at(0));
      const second = refresh(first.view, record([1]), [observe(code, 'another reason')], at(1));
      assert.deepEqual(second.events, []);
      assert.deepEqual(second.view.members[0]?.status, { code, reason: 'another reason' });
      assert.deepEqual(second.view.members[0]?.last_error, { message: 'another reason', at: at(1) });
    });
  }
});
