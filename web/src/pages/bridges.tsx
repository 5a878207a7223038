/** @jsxImportSource hono/jsx/dom */
/// <reference lib="dom" />
/** Bridges to upstream brokers: state, last error, queue and counters, refreshed every few seconds. */
import { useEffect } from "hono/jsx/dom";
import { api, ok } from "../api.ts";
import { bytes, count, duration, time } from "../format.ts";
import { Empty, Page, Show, useAsync } from "../ui.tsx";

const REFRESH_MS = 2000;

/** Connected is good news, stalled and backing off are not; the rest is on its way. */
const STATE_CLASS: Record<string, string> = { connected: "allow", stalled: "deny", backingOff: "deny" };
const STATE_TEXT: Record<string, string> = {
  connecting: "connecting",
  connected: "connected",
  backingOff: "waiting to reconnect",
  stalled: "stalled (upstream not acknowledging)",
  stopped: "stopped",
};

export function Bridges() {
  const list = useAsync(() => ok(api.bridges.$get()));
  useEffect(() => {
    const timer = setInterval(list.reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  return (
    <Page title="Bridges" actions={<button type="button" onClick={list.reload}>Refresh</button>}>
      <Show async={list}>
        {({ items }) =>
          items.length === 0
            ? (
              <Empty>
                No bridges are configured. Add a <code>bridges:</code> section to the configuration file (see{" "}
                <code>gannet config example</code>), then reload it on the Configuration page.
              </Empty>
            )
            : (
              <div class="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th>Bridge</th>
                      <th>Upstream</th>
                      <th>State</th>
                      <th>Queued</th>
                      <th>Oldest queued</th>
                      <th>In flight</th>
                      <th>Forwarded</th>
                      <th>Received</th>
                      <th>Dropped</th>
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((b) => (
                      <tr data-bridge={b.name}>
                        <td>{b.name}</td>
                        <td><code>{b.url}</code></td>
                        <td>
                          <span class={`badge ${STATE_CLASS[b.state] ?? ""}`} data-state={b.state}>{STATE_TEXT[b.state] ?? b.state}</span>
                          <div class="muted small">since {time(b.since)}</div>
                          {b.lastError && b.state !== "connected" && <div class="muted small" role="note">last error: {b.lastError}</div>}
                        </td>
                        <td data-field="queued">{count(b.queued)} <span class="muted small">({bytes(b.queuedBytes)})</span></td>
                        <td>{b.queued > 0 ? duration(b.oldestQueuedAge) : "–"}</td>
                        <td>{count(b.inflight)}</td>
                        <td data-field="forwarded">{count(b.forwarded)}</td>
                        <td data-field="received">{count(b.received)}</td>
                        <td data-field="dropped">{count(b.dropped)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
      </Show>
    </Page>
  );
}
