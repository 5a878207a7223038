/** @jsxImportSource hono/jsx/dom */
/// <reference lib="dom" />
/** A uPlot line chart of time-series columns (seconds on the x axis), resized with its box. */
import { useEffect, useRef } from "hono/jsx/dom";
import uPlot from "uplot";

export interface ChartSeries {
  label: string;
  values: number[];
  color: string;
}

export function Chart({ title, t, series, format }: { title: string; t: number[]; series: ChartSeries[]; format?: (v: number) => string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = [t.map((ms) => ms / 1000), ...series.map((s) => s.values)] as uPlot.AlignedData;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const options: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 180,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: "currentColor", grid: { stroke: "rgba(128,128,128,0.2)" } },
        { stroke: "currentColor", grid: { stroke: "rgba(128,128,128,0.2)" }, values: (_u, ticks) => ticks.map((v) => (format ? format(v) : String(v))), size: 60 },
      ],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: false } }))],
    };
    plot.current = new uPlot(options, data, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 180 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [series.length]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: chart`} />
    </figure>
  );
}
