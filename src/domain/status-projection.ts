/**
 * Node statuses rebuilt from events alone, as a consumer of the stream would: AGENT_NEW sets a
 * status, AGENT_UP/DOWN and NODE_UP/DOWN replace it, NODE_RETIRED drops the node. Applying one
 * refresh's events to the previous view's statuses must give the new view's status codes (the
 * events are complete); reasons may differ, since a new reason alone emits nothing.
 */
import { compareStrings } from './canonical-forms.js';
import type { ClusterView } from './cluster-view.js';
import type { FleetEvent } from './event-catalogue.js';
import type { NodeStatus } from './observation.js';

export interface NodeStatusEntry {
  address: string;
  status: NodeStatus;
}

/** The view's node statuses, sorted by address. */
export function nodeStatuses(view: ClusterView | null): NodeStatusEntry[] {
  return (view?.members ?? []).map((node) => ({ address: node.address, status: node.status }));
}

/** `statuses` with `events` applied in order; the result is sorted by address. */
export function applyNodeStatusEvents(
  statuses: readonly NodeStatusEntry[],
  events: readonly FleetEvent[],
): NodeStatusEntry[] {
  const byAddress = new Map<string, NodeStatus>();
  for (const entry of statuses) byAddress.set(entry.address, entry.status);
  for (const event of events) {
    switch (event.event) {
      case 'AGENT_NEW':
        byAddress.set(event.payload.address, event.payload.status);
        break;
      case 'AGENT_UP':
      case 'AGENT_DOWN':
      case 'NODE_UP':
      case 'NODE_DOWN':
        byAddress.set(event.payload.address, event.payload.after);
        break;
      case 'NODE_RETIRED':
        byAddress.delete(event.payload.address);
        break;
      default:
        break;
    }
  }
  return [...byAddress.entries()]
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([address, status]) => ({ address, status }));
}
