/**
 * The connect and keepalive deadlines of all connections: one min-heap and one Clock timer armed
 * for the earliest, instead of a timer and a closure per connection. An idle connection then holds
 * two numbers (`dueAt`, `heapIndex`) where it held a timer object, a closure and its scope (about
 * 300 bytes each, issue 14: memory per idle connection).
 *
 * Timing is the same as a timer per entry: an entry runs when the timer armed for its due time
 * fires (also after the wall clock stepped back), and it says when it is due next.
 */
import type { Clock, TimerHandle } from "../ports/clock.ts";

export interface Deadline {
  /** Clock time this entry is due (kept by the heap). */
  dueAt: number;
  /** Position in the heap; -1 when not scheduled (kept by the heap). */
  heapIndex: number;
  /** Due now: do what is due and return the next due time, or 0 for none. */
  onDeadline(now: number): number;
}

export class Deadlines {
  private readonly heap: Deadline[] = [];
  private timer: TimerHandle = null;
  /** The due time the timer is armed for (Infinity when none is). */
  private armedFor = Infinity;

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.heap.length;
  }

  /** (Re)schedule `entry` for clock time `at`. */
  schedule(entry: Deadline, at: number): void {
    const old = entry.dueAt;
    entry.dueAt = at;
    if (entry.heapIndex < 0) {
      entry.heapIndex = this.heap.length;
      this.heap.push(entry);
      this.up(entry.heapIndex);
    } else if (at < old) this.up(entry.heapIndex);
    else this.down(entry.heapIndex);
    this.arm();
  }

  cancel(entry: Deadline): void {
    const i = entry.heapIndex;
    if (i < 0) return;
    entry.heapIndex = -1;
    const last = this.heap.pop()!;
    if (last !== entry) {
      this.heap[i] = last;
      last.heapIndex = i;
      this.up(i);
      this.down(last.heapIndex);
    }
    // An earlier timer than needed just fires, finds nothing due and re-arms; none is left when empty.
    if (this.heap.length === 0) this.disarm();
  }

  private disarm(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.armedFor = Infinity;
  }

  private arm(): void {
    const top = this.heap[0];
    if (!top || top.dueAt >= this.armedFor) return;
    this.disarm();
    this.armedFor = top.dueAt;
    this.timer = this.clock.setTimeout(this.fire, Math.max(0, top.dueAt - this.clock.now()));
  }

  /** Run every entry due by the time the timer was armed for (or by now), then re-arm. */
  private readonly fire = (): void => {
    const due = Math.max(this.armedFor, this.clock.now());
    this.timer = null;
    this.armedFor = Infinity;
    const entries: Deadline[] = [];
    while (this.heap.length > 0 && this.heap[0].dueAt <= due) {
      entries.push(this.heap[0]);
      this.cancel(this.heap[0]);
    }
    let failure: { error: unknown } | null = null;
    for (const entry of entries) {
      try {
        const next = entry.onDeadline(this.clock.now());
        if (next > 0 && entry.heapIndex < 0) this.schedule(entry, next);
      } catch (error: unknown) {
        failure ??= { error }; // the others still run; the first error surfaces as a timer's would
      }
    }
    this.arm();
    if (failure) throw failure.error;
  };

  private up(i: number): void {
    const { heap } = this;
    const entry = heap[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].dueAt <= entry.dueAt) break;
      heap[i] = heap[parent];
      heap[i].heapIndex = i;
      i = parent;
    }
    heap[i] = entry;
    entry.heapIndex = i;
  }

  private down(i: number): void {
    const { heap } = this;
    const entry = heap[i];
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && heap[right].dueAt < heap[left].dueAt ? right : left;
      if (heap[child].dueAt >= entry.dueAt) break;
      heap[i] = heap[child];
      heap[i].heapIndex = i;
      i = child;
    }
    heap[i] = entry;
    entry.heapIndex = i;
  }
}

/** One heap per clock (a broker's, or a test's fake clock), made on first use. */
const byClock = new WeakMap<Clock, Deadlines>();

export function deadlinesFor(clock: Clock): Deadlines {
  let deadlines = byClock.get(clock);
  if (!deadlines) byClock.set(clock, (deadlines = new Deadlines(clock)));
  return deadlines;
}
