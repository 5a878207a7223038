/**
 * /metrics in the Prometheus text format (version 0.0.4): the broker's counters and gauges and
 * connections per listener. Needs a login or an API key like the rest of the API (Prometheus:
 * `authorization: { credentials: gnt_... }`). Process CPU and memory come from the runtime adapter,
 * the commit latency histogram from the store. Bridges: one series per bridge (label `bridge`).
 */
import type { ManagedBroker, ProcessStats } from "./api/env.ts";
import type { LatencyHistogram } from "../store/histogram.ts";

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

export async function renderMetrics(
  broker: ManagedBroker,
  now: number,
  process?: ProcessStats,
  commitLatency?: LatencyHistogram,
): Promise<string> {
  const s = broker.stats;
  const lines: string[] = [];
  const metric = (name: string, type: "counter" | "gauge", help: string, samples: Array<[string, number]>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  metric("gannet_connections", "gauge", "MQTT connections open now, per listener.", broker.listeners().map((l) => [`{listener="${escapeLabel(l.name)}"}`, l.connections]));
  metric("gannet_clients_connected", "gauge", "MQTT clients connected now.", [["", s.clientsConnected]]);
  metric("gannet_connections_peak", "gauge", "Most connections at once since start.", [["", s.connectionsPeak]]);
  metric("gannet_connections_total", "counter", "Connections accepted since start.", [["", s.clientsTotal]]);
  metric("gannet_messages_received_total", "counter", "PUBLISH packets received.", [["", s.messagesReceived]]);
  metric("gannet_messages_sent_total", "counter", "PUBLISH packets sent.", [["", s.messagesSent]]);
  metric("gannet_bytes_received_total", "counter", "Bytes received from clients.", [["", s.bytesReceived]]);
  metric("gannet_bytes_sent_total", "counter", "Bytes sent to clients.", [["", s.bytesSent]]);
  metric(
    "gannet_messages_dropped_total",
    "counter",
    "Messages not delivered to a subscriber, by reason (queueFull, notReading, tooLarge, expired, maxAge).",
    Object.entries(s.droppedBy).map(([reason, n]) => [`{reason="${reason}"}`, n]),
  );
  metric("gannet_sessions", "gauge", "Sessions (connected and offline).", [["", s.sessions]]);
  metric("gannet_subscriptions", "gauge", "Subscriptions.", [["", s.subscriptions]]);
  metric("gannet_retained_messages", "gauge", "Retained messages.", [["", s.retained]]);
  metric("gannet_queued_messages", "gauge", "Messages waiting in session queues.", [["", s.queued]]);
  const size = await broker.storeSize();
  if (size !== undefined) metric("gannet_store_size_bytes", "gauge", "Bytes of the database file(s).", [["", size]]);
  if (process) {
    metric("process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.", [["", process.cpuSeconds]]);
    metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", [["", process.residentBytes]]);
    if (process.heapBytes !== undefined) metric("gannet_heap_used_bytes", "gauge", "JavaScript heap in use, bytes.", [["", process.heapBytes]]);
  }
  if (commitLatency) {
    const name = "gannet_store_commit_seconds";
    lines.push(`# HELP ${name} Time of the store's group-commit transactions.`, `# TYPE ${name} histogram`);
    let cumulative = 0;
    commitLatency.bounds.forEach((bound, i) => {
      cumulative += commitLatency.counts[i];
      lines.push(`${name}_bucket{le="${bound}"} ${cumulative}`);
    });
    lines.push(`${name}_bucket{le="+Inf"} ${commitLatency.count}`, `${name}_sum ${commitLatency.sum}`, `${name}_count ${commitLatency.count}`);
  }
  const bridges = broker.bridges();
  if (bridges.length > 0) {
    const per = (value: (b: (typeof bridges)[number]) => number): Array<[string, number]> =>
      bridges.map((b) => [`{bridge="${escapeLabel(b.name)}"}`, value(b)]);
    metric("gannet_bridge_up", "gauge", "1 while the bridge is connected to its upstream and delivering.", per((b) => (b.state === "connected" ? 1 : 0)));
    metric("gannet_bridge_queued_messages", "gauge", "Messages waiting for the upstream.", per((b) => b.queued));
    metric("gannet_bridge_queued_bytes", "gauge", "Payload bytes waiting for the upstream.", per((b) => b.queuedBytes));
    metric("gannet_bridge_oldest_queued_seconds", "gauge", "Age of the oldest message waiting for the upstream.", per((b) => b.oldestQueuedAge));
    metric("gannet_bridge_forwarded_total", "counter", "Messages the upstream acknowledged.", per((b) => b.forwarded));
    metric("gannet_bridge_received_total", "counter", "Messages received from the upstream.", per((b) => b.received));
    metric("gannet_bridge_dropped_total", "counter", "Messages the bridge dropped (queue bounds, QoS 0 while away).", per((b) => b.dropped));
  }
  metric("gannet_uptime_seconds", "gauge", "Seconds since the broker started.", [["", Math.round((now - s.startedAt) / 1000)]]);
  return lines.join("\n") + "\n";
}
