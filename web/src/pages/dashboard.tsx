/** @jsxImportSource hono/jsx/dom */
/// <reference lib="dom" />
/** Dashboard: the live numbers (SSE, every second) and charts of the last 15 minutes or 24 hours. */
import { useEffect, useState } from "hono/jsx/dom";
import { api, ok, stream } from "../api.ts";
import { Chart } from "../chart.tsx";
import { bytes, count, duration, rate } from "../format.ts";
import { ErrorBox, Loading, Page } from "../ui.tsx";

type Overview = Awaited<ReturnType<typeof loadOverview>>;
const loadOverview = () => ok(api.overview.$get());
type Series = Awaited<ReturnType<typeof loadSeries>>;
const loadSeries = (resolution: "1s" | "1m") => ok(api.overview.series.$get({ query: { resolution } }));

function Card({ label, value, detail, id }: { label: string; value: string; detail?: string; id: string }) {
  return (
    <div class="card" data-stat={id}>
      <div class="card-label">{label}</div>
      <div class="card-value">{value}</div>
      {detail && <div class="card-detail">{detail}</div>}
    </div>
  );
}

export function Dashboard() {
  const [now, setNow] = useState<Overview | undefined>();
  const [series, setSeries] = useState<Series | undefined>();
  const [resolution, setResolution] = useState<"1s" | "1m">("1s");
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    loadOverview().then(setNow, (e: Error) => setError(e.message));
    return stream("/overview/stream", { overview: (data) => setNow(data as Overview) }, setError);
  }, []);
  useEffect(() => {
    const refresh = () => loadSeries(resolution).then(setSeries, (e: Error) => setError(e.message));
    refresh();
    const timer = setInterval(refresh, resolution === "1s" ? 2000 : 30_000);
    return () => clearInterval(timer);
  }, [resolution]);

  if (!now) return <Page title="Dashboard">{error ? <ErrorBox message={error} /> : <Loading />}</Page>;
  const r = now.rates;
  return (
    <Page
      title="Dashboard"
      actions={
        <label>
          Range{" "}
          <select value={resolution} onChange={(e) => setResolution((e.target as HTMLSelectElement).value as "1s" | "1m")}>
            <option value="1s">15 minutes (1 s)</option>
            <option value="1m">24 hours (1 min)</option>
          </select>
        </label>
      }
    >
      <div class="cards">
        <Card id="connections" label="Connections" value={count(now.clientsConnected)} detail={`peak ${count(now.connectionsPeak)}`} />
        <Card id="connects" label="Connects" value={rate(r?.connectsPerSecond)} detail={`${count(now.clientsTotal)} since start`} />
        <Card id="messages-in" label="Messages in" value={rate(r?.messagesInPerSecond)} detail={`${count(now.messagesReceived)} total`} />
        <Card id="messages-out" label="Messages out" value={rate(r?.messagesOutPerSecond)} detail={`${count(now.messagesSent)} total`} />
        <Card id="bytes" label="Traffic in / out" value={`${bytes(r?.bytesInPerSecond ?? 0)}/s`} detail={`out ${bytes(r?.bytesOutPerSecond ?? 0)}/s`} />
        <Card id="subscriptions" label="Subscriptions" value={count(now.subscriptions)} detail={`${count(now.sessions)} sessions`} />
        <Card id="retained" label="Retained" value={count(now.retained)} />
        <Card id="queued" label="Queued" value={count(now.queued)} detail={`${count(now.publishDropped)} dropped`} />
        <Card id="store" label="Store" value={now.storeSize === null ? "memory" : bytes(now.storeSize)} />
        <Card id="process" label="Memory" value={bytes(now.process?.residentBytes)} detail={now.process ? `CPU ${now.process.cpuSeconds.toFixed(1)} s` : undefined} />
        <Card id="uptime" label="Uptime" value={duration(now.uptime)} detail={`${now.version} · ${now.runtime}`} />
      </div>
      {error && <ErrorBox message={error} />}
      {series && series.t.length > 0
        ? (
          <div class="charts">
            <Chart title="Connections" t={series.t} series={[{ label: "connections", values: series.connections ?? [], color: "#2f7de1" }]} />
            <Chart
              title="Messages per second"
              t={series.t}
              series={[
                { label: "in", values: series.messagesInPerSecond ?? [], color: "#1a9c5b" },
                { label: "out", values: series.messagesOutPerSecond ?? [], color: "#d9822b" },
              ]}
            />
            <Chart
              title="Bytes per second"
              format={(v) => bytes(v)}
              t={series.t}
              series={[
                { label: "in", values: series.bytesInPerSecond ?? [], color: "#1a9c5b" },
                { label: "out", values: series.bytesOutPerSecond ?? [], color: "#d9822b" },
              ]}
            />
          </div>
        )
        : <p class="state empty">The charts fill in as the broker runs (one point per second).</p>}
    </Page>
  );
}
