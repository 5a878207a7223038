/** The overview's time series and the log ring, on their own. */
import { describe, expect, test } from "bun:test";
import { LogRing } from "../../src/admin/log-ring.ts";
import { MetricsSeries } from "../../src/admin/series.ts";
import type { BrokerStats } from "../../src/core/broker.ts";

const stats = (over: Partial<BrokerStats> = {}): BrokerStats => ({
  clientsTotal: 0,
  messagesReceived: 0,
  messagesSent: 0,
  bytesReceived: 0,
  bytesSent: 0,
  publishDropped: 0,
  startedAt: 0,
  clientsConnected: 0,
  connectionsPeak: 0,
  sessions: 0,
  subscriptions: 0,
  retained: 0,
  queued: 0,
  ...over,
});

describe("MetricsSeries", () => {
  test("rates per second from counter differences; gauges as sampled", () => {
    const s = new MetricsSeries();
    s.sample(stats(), 1000);
    s.sample(stats({ messagesReceived: 100, clientsTotal: 3, clientsConnected: 3, bytesSent: 2048 }), 2000);
    s.sample(stats({ messagesReceived: 400, clientsTotal: 3, clientsConnected: 2, bytesSent: 2048 }), 4000);
    const c = s.columns("1s");
    expect(c.t).toEqual([2000, 4000]);
    expect(c.messagesInPerSecond).toEqual([100, 150]);
    expect(c.connectsPerSecond).toEqual([3, 0]);
    expect(c.connections).toEqual([3, 2]);
    expect(c.bytesOutPerSecond).toEqual([2048, 0]);
    expect(s.latest()?.messagesInPerSecond).toBe(150);
  });

  test("15 minutes of seconds are kept; minutes average the rates and keep the last gauges", () => {
    const s = new MetricsSeries();
    let received = 0;
    for (let i = 0; i <= 1200; i++) {
      received += i < 60 ? 10 : 20;
      s.sample(stats({ messagesReceived: received, sessions: i }), 60_000 + i * 1000);
    }
    expect(s.columns("1s").t.length).toBe(900);
    const m = s.columns("1m");
    expect(m.t.slice(0, 2)).toEqual([60_000, 120_000]);
    expect(m.messagesInPerSecond[0]).toBe(10); // seconds 1..59 of the first minute (the first sample is the baseline)
    expect(m.messagesInPerSecond[1]).toBe(20);
    expect(m.sessions[1]).toBe(119);
  });
});

describe("LogRing", () => {
  test("level filter, after id, bounded size, hidden secrets (also lines already kept)", () => {
    const ring = new LogRing(3);
    ring.push("info", "one", 1);
    ring.push("warn", "password=s3cret-value", 2);
    ring.hide("s3cret-value");
    ring.push("debug", "three s3cret-value", 3);
    ring.push("error", "four", 4);
    expect(ring.list().map((e) => e.line)).toEqual(["password=[hidden]", "three [hidden]", "four"]);
    expect(ring.list({ level: "warn" }).map((e) => e.line)).toEqual(["password=[hidden]", "four"]);
    const last = ring.list()[1]!.id;
    expect(ring.list({ after: last }).map((e) => e.line)).toEqual(["four"]);
  });
});
