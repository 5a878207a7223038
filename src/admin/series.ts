/**
 * The overview's time series, in memory: one point per second for 15 minutes and one per minute
 * for 24 hours (900 + 1440 points, a few hundred KiB at most). Rates come from the counters'
 * differences; a minute point holds the average rate and the last gauge values of its seconds.
 */
import type { BrokerStats } from "../core/broker.ts";

export const SERIES_FIELDS = [
  "connections",
  "connectsPerSecond",
  "messagesInPerSecond",
  "messagesOutPerSecond",
  "bytesInPerSecond",
  "bytesOutPerSecond",
  "droppedPerSecond",
  "subscriptions",
  "retained",
  "queued",
  "sessions",
] as const;
export type SeriesField = (typeof SERIES_FIELDS)[number];
export type SeriesPoint = { t: number } & Record<SeriesField, number>;

/** Columns, as uPlot takes them: t (clock ms) and one array per field. */
export type SeriesColumns = { t: number[] } & Record<SeriesField, number[]>;

class Ring {
  private readonly items: SeriesPoint[] = [];
  constructor(private readonly size: number) {}
  push(p: SeriesPoint): void {
    this.items.push(p);
    if (this.items.length > this.size) this.items.shift();
  }
  all(): readonly SeriesPoint[] {
    return this.items;
  }
}

const RATES: ReadonlyArray<[SeriesField, keyof BrokerStats]> = [
  ["connectsPerSecond", "clientsTotal"],
  ["messagesInPerSecond", "messagesReceived"],
  ["messagesOutPerSecond", "messagesSent"],
  ["bytesInPerSecond", "bytesReceived"],
  ["bytesOutPerSecond", "bytesSent"],
  ["droppedPerSecond", "publishDropped"],
];

export class MetricsSeries {
  private readonly seconds = new Ring(900);
  private readonly minutes = new Ring(1440);
  private previous: { t: number; stats: BrokerStats } | undefined;
  private minute: SeriesPoint[] = [];

  /** Takes a sample (call about once a second); the first one only sets the baseline for rates. */
  sample(stats: BrokerStats, now: number): void {
    const before = this.previous;
    this.previous = { t: now, stats: { ...stats } };
    if (!before || now <= before.t) return;
    const elapsed = (now - before.t) / 1000;
    const point = {
      t: now,
      connections: stats.clientsConnected,
      subscriptions: stats.subscriptions,
      retained: stats.retained,
      queued: stats.queued,
      sessions: stats.sessions,
    } as SeriesPoint;
    for (const [field, counter] of RATES) {
      point[field] = Math.max(0, ((stats[counter] as number) - (before.stats[counter] as number)) / elapsed);
    }
    this.seconds.push(point);
    const minuteOf = (t: number) => Math.floor(t / 60_000);
    if (this.minute.length && minuteOf(this.minute[0].t) !== minuteOf(now)) this.closeMinute();
    this.minute.push(point);
  }

  private closeMinute(): void {
    const points = this.minute;
    this.minute = [];
    const last = points[points.length - 1];
    const merged = { ...last, t: Math.floor(last.t / 60_000) * 60_000 };
    for (const [field] of RATES) merged[field] = points.reduce((sum, p) => sum + p[field], 0) / points.length;
    this.minutes.push(merged);
  }

  /** "1s": the last 15 minutes; "1m": the last 24 hours. */
  columns(resolution: "1s" | "1m"): SeriesColumns {
    const points = resolution === "1s" ? this.seconds.all() : this.minutes.all();
    const out = { t: points.map((p) => p.t) } as SeriesColumns;
    for (const field of SERIES_FIELDS) out[field] = points.map((p) => Math.round(p[field] * 100) / 100);
    return out;
  }

  /** The newest per-second point, if any. */
  latest(): SeriesPoint | undefined {
    const all = this.seconds.all();
    return all[all.length - 1];
  }
}
