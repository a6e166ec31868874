// One score of every neuron of a layer as points (x: channel, y: score), with a box brush that
// selects neurons; selected neurons are drawn highlighted, whichever chart selected them.
import * as d3 from "d3";
import { inset, valueDomain } from "../lib/chartDomain";
import { fmt } from "../lib/dom";
import type { Svg } from "./types";

export interface NeuronChartData {
  values: number[];
  selected: Set<number>;
  color: string;
  label: string;
  /** What one point is called in its tooltip ("neuron", or "head" on an attention layer). */
  unit?: string;
}

export function drawNeuronChart(
  svg: Svg,
  data: NeuronChartData,
  config: { width: number; height: number; onBrush: (channels: number[]) => void; onClick: (channel: number) => void },
): void {
  const m = { top: 16, right: 8, bottom: 20, left: 46 };
  const { width: w, height: h } = config;
  svg.selectAll("*").remove();
  svg.attr("width", w).attr("height", h).attr("class", "neuron-chart");
  const n = data.values.length;
  // The brushable area is the whole plot box; the points sit BRUSH_PAD pixels inside it on every side,
  // so a drag that starts just above (or beside) the outermost point still encloses it.
  const x = d3.scaleLinear().domain([-0.5, Math.max(1, n) - 0.5]).range(inset(m.left, w - m.right));
  // Scaled to the data with zero on the axis: all-negative scores end at 0, not at a fixed 1.
  const y = d3.scaleLinear().domain(valueDomain(data.values)).nice().range(inset(h - m.bottom, m.top));
  svg.attr("data-domain", y.domain().join(","));
  svg.append("text").attr("class", "chart-title").attr("x", m.left).attr("y", 11).text(data.label);
  // Whole unit numbers only: with a handful of units (a layer's attention heads) d3 would tick at halves.
  const xTicks = x.ticks(6).filter((t) => Number.isInteger(t) && t >= 0 && t < n);
  svg.append("g").attr("transform", `translate(0,${h - m.bottom})`).call(d3.axisBottom(x).tickValues(xTicks).tickFormat(d3.format("d")));
  svg.append("g").attr("transform", `translate(${m.left},0)`).call(d3.axisLeft(y).ticks(4).tickFormat((d) => fmt(Number(d), 2)));
  const brushLayer = svg.append("g").attr("class", "brush") as unknown as d3.Selection<SVGGElement, unknown, null, undefined>;
  const points = svg
    .append("g")
    .selectAll("circle")
    .data(data.values.map((v, c) => ({ c, v })))
    .join("circle")
    .attr("data-testid", "neuron-point")
    .attr("data-channel", (d) => d.c)
    .attr("class", (d) => (data.selected.has(d.c) ? "selected" : null))
    .attr("cx", (d) => x(d.c))
    .attr("cy", (d) => y(d.v))
    .attr("r", (d) => (data.selected.has(d.c) ? 3.5 : 2.2))
    .attr("fill", (d) => (data.selected.has(d.c) ? data.color : "#b8c2cc"))
    .on("click", (_, d) => config.onClick(d.c));
  points.append("title").text((d) => `${data.unit ?? "neuron"} ${d.c}: ${d.v.toPrecision(4)}`);
  points.filter((d) => data.selected.has(d.c)).raise();
  const brush = d3
    .brush<unknown>()
    .extent([
      [m.left, m.top],
      [w - m.right, h - m.bottom],
    ])
    .on("end", (event: d3.D3BrushEvent<unknown>) => {
      if (!event.selection || !event.sourceEvent) return;
      const [[x0, y0], [x1, y1]] = event.selection as [[number, number], [number, number]];
      const picked = data.values.flatMap((v, c) => (x(c) >= x0 && x(c) <= x1 && y(v) >= y0 && y(v) <= y1 ? [c] : []));
      brushLayer.call(brush.move, null);
      config.onBrush(picked);
    });
  brushLayer.call(brush);
}
