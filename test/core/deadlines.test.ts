/**
 * The shared deadline heap (src/core/deadlines.ts) that holds every connection's connect timeout
 * and keepalive check behind one Clock timer: entries run at their own due times, in order, as a
 * timer per entry would; cancelled ones never run; no timer is left once nothing is scheduled.
 * On fake time (test/helpers/fake-clock.ts).
 */
import { expect, test } from "bun:test";
import { type Deadline, Deadlines } from "../../src/core/deadlines.ts";
import { FakeClock } from "../helpers/fake-clock.ts";

/** An entry that records when it ran and asks to run again after `every` ms (0: once). */
class Entry implements Deadline {
  dueAt = 0;
  heapIndex = -1;
  runs: number[] = [];
  constructor(readonly name: string, private readonly log: string[], private readonly every = 0) {}
  onDeadline(now: number): number {
    this.runs.push(now);
    this.log.push(this.name);
    return this.every > 0 ? now + this.every : 0;
  }
}

test("entries run at their own due times, earliest first, whatever the order they were scheduled in", () => {
  const clock = new FakeClock();
  const deadlines = new Deadlines(clock);
  const log: string[] = [];
  const start = clock.now();
  const [a, b, c] = ["a", "b", "c"].map((name) => new Entry(name, log));
  deadlines.schedule(c, start + 300);
  deadlines.schedule(a, start + 100);
  deadlines.schedule(b, start + 200);
  expect(clock.pending).toBe(1); // one timer for all of them
  clock.advance(99);
  expect(log).toEqual([]);
  clock.advance(1);
  expect(log).toEqual(["a"]);
  clock.advance(250);
  expect(log).toEqual(["a", "b", "c"]);
  expect([a.runs, b.runs, c.runs]).toEqual([[start + 100], [start + 200], [start + 300]]);
  expect(clock.pending).toBe(0);
});

test("a cancelled entry never runs, and no timer is left once the heap is empty", () => {
  const clock = new FakeClock();
  const deadlines = new Deadlines(clock);
  const log: string[] = [];
  const a = new Entry("a", log);
  const b = new Entry("b", log);
  deadlines.schedule(a, clock.now() + 100);
  deadlines.schedule(b, clock.now() + 200);
  deadlines.cancel(a);
  deadlines.cancel(a); // twice is harmless
  expect(a.heapIndex).toBe(-1);
  clock.advance(150);
  expect(log).toEqual([]);
  deadlines.cancel(b);
  expect(deadlines.size).toBe(0);
  expect(clock.pending).toBe(0);
  clock.advance(1_000);
  expect(log).toEqual([]);
});

test("rescheduling moves an entry earlier or later; an entry that returns a time runs again then", () => {
  const clock = new FakeClock();
  const deadlines = new Deadlines(clock);
  const log: string[] = [];
  const start = clock.now();
  const later = new Entry("later", log);
  const repeating = new Entry("repeating", log, 40);
  deadlines.schedule(later, start + 50);
  deadlines.schedule(later, start + 500); // later than first said
  deadlines.schedule(repeating, start + 1_000);
  deadlines.schedule(repeating, start + 20); // earlier than first said
  clock.advance(110);
  expect(repeating.runs).toEqual([start + 20, start + 60, start + 100]);
  expect(later.runs).toEqual([]);
  deadlines.cancel(repeating);
  clock.advance(400);
  expect(later.runs).toEqual([start + 500]);
  expect(clock.pending).toBe(0);
});

test("after the wall clock stepped back, a due entry still runs when its timer fires (host timers count elapsed time)", () => {
  // A clock whose timers fire when the test says, whatever now() says: as host timers do after an NTP step.
  let time = 1_700_000_000_000;
  const timers = new Map<number, () => void>();
  let nextId = 1;
  const clock = {
    now: () => time,
    setTimeout: (fn: () => void) => (timers.set(nextId, fn), nextId++),
    clearTimeout: (id: unknown) => void timers.delete(id as number),
    setInterval: () => 0,
    clearInterval: () => {},
  };
  const deadlines = new Deadlines(clock);
  const log: string[] = [];
  const a = new Entry("a", log);
  deadlines.schedule(a, time + 1_000);
  time -= 4_000; // stepped back 5 s, one second later
  const [fire] = timers.values();
  fire();
  expect(log).toEqual(["a"]);
  expect(a.runs).toEqual([time]);
});

test("an entry that throws does not stop the others due with it; the error surfaces like a timer's", () => {
  const clock = new FakeClock();
  const deadlines = new Deadlines(clock);
  const log: string[] = [];
  const failing: Deadline = {
    dueAt: 0,
    heapIndex: -1,
    onDeadline() {
      throw new Error("boom");
    },
  };
  const after = new Entry("after", log);
  deadlines.schedule(failing, clock.now() + 10);
  deadlines.schedule(after, clock.now() + 10);
  expect(() => clock.advance(10)).toThrow("boom");
  expect(log).toEqual(["after"]);
  expect(deadlines.size).toBe(0);
});

test("10,000 random schedules, reschedules and cancels: each entry runs once, at its last due time, in due order", () => {
  const clock = new FakeClock();
  const deadlines = new Deadlines(clock);
  const log: string[] = [];
  const start = clock.now();
  let seed = 12345;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31; // a fixed sequence: the same run every time
    return seed % n;
  };
  const entries = Array.from({ length: 500 }, (_, i) => new Entry(String(i), log));
  const expected = new Map<Entry, number>();
  for (let op = 0; op < 10_000; op++) {
    const entry = entries[random(entries.length)];
    if (random(4) === 0) {
      deadlines.cancel(entry);
      expected.delete(entry);
    } else {
      const at = start + 1 + random(100_000);
      deadlines.schedule(entry, at);
      expected.set(entry, at);
    }
  }
  expect(deadlines.size).toBe(expected.size);
  clock.advance(100_001);
  for (const entry of entries) expect(entry.runs).toEqual(expected.has(entry) ? [expected.get(entry)!] : []);
  const order = [...expected].sort((x, y) => x[1] - y[1]).map(([entry]) => entry.runs[0]);
  expect(log.map((name) => entries[Number(name)].runs[0])).toEqual(order);
  expect(clock.pending).toBe(0);
});
