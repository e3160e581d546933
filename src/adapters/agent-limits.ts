/**
 * How many nodes a worker observes at once, and how they are shared between refreshes. The unit
 * is a node observation (agent info, then datastore info and shards together: at most two
 * requests in flight), not a single request: a node's three calls are one snapshot, so they are
 * never split by a wait for a slot, and an observation's duration stays bounded by two call
 * budgets whatever the queue does. Requests in flight are at most twice the slots.
 */

type Grant = (release: () => void) => void;

interface Waiter {
  grant: Grant;
  reject: (reason: unknown) => void;
}

/**
 * Slots shared by parties (one party per refresh). A free slot goes to the waiting parties in
 * turn, one each, so a refresh of 2,000 nodes and one of 3 alternate: the small one waits for
 * at most one slot per party ahead of it, never for the big one's whole queue.
 */
export class FairSlots {
  readonly capacity: number;
  #inUse = 0;
  /** Waiting parties in turn order: Map keeps insertion order, re-inserting moves one to the back. */
  readonly #waiting = new Map<object, Waiter[]>();

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`slots: capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
  }

  /** Resolves with the function that gives the slot back (call it once). */
  acquire(party: object): Promise<() => void> {
    if (this.#inUse < this.capacity && this.#waiting.size === 0) {
      this.#inUse++;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const queue = this.#waiting.get(party);
      const waiter: Waiter = { grant: resolve, reject };
      if (queue) queue.push(waiter);
      else this.#waiting.set(party, [waiter]);
    });
  }

  /** Rejects every wait of `party` at once (its refresh was cancelled). */
  cancel(party: object, reason: unknown): void {
    const queue = this.#waiting.get(party);
    if (!queue) return;
    this.#waiting.delete(party);
    for (const waiter of queue) waiter.reject(reason);
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inUse--;
      this.#grantNext();
    };
  }

  #grantNext(): void {
    while (this.#inUse < this.capacity) {
      const first = this.#waiting.entries().next();
      if (first.done) return;
      const [party, queue] = first.value;
      const waiter = queue.shift();
      this.#waiting.delete(party);
      if (queue.length > 0) this.#waiting.set(party, queue);
      if (!waiter) continue;
      this.#inUse++;
      waiter.grant(this.#releaser());
    }
  }
}
