// History charts (uPlot): one series per code, the target band drawn behind the line.
import uPlot from "uplot";
import type { Row } from "./db";

export interface Band {
  low: number;
  high: number;
}

export function series(observations: Row[], codes: string[], days: number): [number[], ...(number | null)[][]] {
  const from = Date.now() - days * 86400_000;
  const rows = observations
    .filter((o) => Date.parse(String(o.observed_at)) >= from)
    .sort((a, b) => Date.parse(String(a.observed_at)) - Date.parse(String(b.observed_at)));
  const xs: number[] = [];
  const ys: (number | null)[][] = codes.map(() => []);
  for (const o of rows) {
    const readings = (o.readings as { code: string; value: number }[]) ?? [];
    const values = codes.map((c) => readings.find((r) => r.code === c)?.value ?? null);
    if (values.every((v) => v === null)) continue;
    xs.push(Date.parse(String(o.observed_at)) / 1000);
    values.forEach((v, i) => ys[i].push(v));
  }
  return [xs, ...ys];
}

export function drawChart(
  target: HTMLElement,
  data: [number[], ...(number | null)[][]],
  labels: string[],
  band: Band | null,
  width: number,
  onDrawn?: () => void,
): uPlot {
  const colours = ["#0b5394", "#7f3f98", "#1b6e20"];
  const opts: uPlot.Options = {
    width,
    height: 220,
    series: [{}, ...labels.map((label, i) => ({ label, stroke: colours[i % colours.length], width: 2, points: { show: data[0].length < 120 } }))],
    axes: [{}, {}],
    legend: { show: true },
    hooks: {
      // uPlot draws in a microtask after construction: this is when the chart is on screen.
      draw: [() => onDrawn?.()],
      drawClear: [
        (u: uPlot) => {
          if (!band) return;
          const ctx = u.ctx;
          const top = u.valToPos(band.high, "y", true);
          const bottom = u.valToPos(band.low, "y", true);
          ctx.save();
          ctx.fillStyle = "rgba(27, 110, 32, 0.14)";
          ctx.fillRect(u.bbox.left, Math.min(top, bottom), u.bbox.width, Math.abs(bottom - top));
          ctx.restore();
        },
      ],
    },
  };
  return new uPlot(opts, data as uPlot.AlignedData, target);
}
