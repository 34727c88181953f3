/** What a lane needs of a claimed delivery. */
export interface LaneItem {
  readonly endpoint_id: string;
}

interface Lane<T> {
  readonly queue: T[];
  /** POSTs under way to this endpoint from this process. */
  sending: number;
  limit: number;
}

/**
 * The dispatcher's claimed-but-not-yet-sent deliveries, one FIFO lane per endpoint. A lane sends at
 * most its endpoint's `max_in_flight` at once; lanes take turns (round robin), so a slow endpoint
 * only ever occupies its own slots and never delays another endpoint's deliveries. Pure bookkeeping:
 * no I/O, no clock.
 */
export class EndpointLanes<T extends LaneItem> {
  readonly #lanes = new Map<string, Lane<T>>();
  /** Endpoint ids in turn order; the next `take` starts after the last one served. */
  #turn: string[] = [];
  #queued = 0;
  #sending = 0;

  /** Claimed, not yet taken. */
  get queued(): number {
    return this.#queued;
  }

  /** Taken and not yet `done`. */
  get sending(): number {
    return this.#sending;
  }

  /** Queues a claimed delivery behind the others of its endpoint. */
  add(item: T, limit: number): void {
    let lane = this.#lanes.get(item.endpoint_id);
    if (lane === undefined) {
      lane = { queue: [], sending: 0, limit };
      this.#lanes.set(item.endpoint_id, lane);
      this.#turn.push(item.endpoint_id);
    }
    lane.limit = Math.max(1, limit);
    lane.queue.push(item);
    this.#queued++;
  }

  /** The next delivery to send from a lane with a free slot, taking lanes in turn; undefined if none. */
  take(): T | undefined {
    for (let i = 0; i < this.#turn.length; i++) {
      const id = this.#turn[i]!;
      const lane = this.#lanes.get(id)!;
      if (lane.queue.length === 0 || lane.sending >= lane.limit) continue;
      // Served: this lane goes to the back of the turn order.
      this.#turn.splice(i, 1);
      this.#turn.push(id);
      lane.sending++;
      this.#sending++;
      this.#queued--;
      return lane.queue.shift()!;
    }
    return undefined;
  }

  /** A taken delivery's POST is over: its endpoint has a free slot again. */
  done(endpointId: string): void {
    const lane = this.#lanes.get(endpointId);
    if (lane === undefined || lane.sending === 0) return;
    lane.sending--;
    this.#sending--;
    this.#forgetIfIdle(endpointId, lane);
  }

  /** How many deliveries of this endpoint wait in its lane. */
  waiting(endpointId: string): number {
    return this.#lanes.get(endpointId)?.queue.length ?? 0;
  }

  /** Empties every lane's queue (deliveries being sent stay counted) and returns what was queued. */
  clear(): T[] {
    const all: T[] = [];
    for (const [id, lane] of this.#lanes) {
      all.push(...lane.queue.splice(0));
      this.#forgetIfIdle(id, lane);
    }
    this.#queued = 0;
    return all;
  }

  #forgetIfIdle(id: string, lane: Lane<T>): void {
    if (lane.queue.length > 0 || lane.sending > 0) return;
    this.#lanes.delete(id);
    this.#turn = this.#turn.filter((t) => t !== id);
  }
}
