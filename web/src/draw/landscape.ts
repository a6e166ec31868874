// The landscape of a sweep: a line per row plus the mean over one axis, or a heat grid of the mean over
// two axes with a colour legend. Points may be missing (still running); their cells stay empty.
import * as d3 from "d3";
import { fmt } from "../lib/dom";
import type { Svg } from "./types";

export interface LandscapePointData {
  index: number;
  params: Record<string, number>;
  values: (number | null)[];
  mean: number | null;
}

export interface LandscapeData {
  axes: string[];
  /** Values of each axis, in grid order (the last axis fastest). */
  ticks: number[][];
  points: LandscapePointData[];
  rowLabels: string[];
  metric: string;
  higherIsBetter: boolean;
}

export interface LandscapeConfig {
  width: number;
  height: number;
  onHover?: (p: LandscapePointData | null) => void;
  onClick?: (p: LandscapePointData) => void;
}

const ROW_COLORS = d3.schemeTableau10;

/** The index of the best finished point by its mean (null while none has a mean). */
export function bestPoint(points: LandscapePointData[], higherIsBetter: boolean): number | null {
  let best: LandscapePointData | null = null;
  for (const p of points) {
    if (p.mean == null) continue;
    if (!best || (higherIsBetter ? p.mean > best.mean! : p.mean < best.mean!)) best = p;
  }
  return best ? best.index : null;
}

export function drawLandscape(svg: Svg, data: LandscapeData, config: LandscapeConfig): void {
  svg.selectAll("*").remove();
  svg.attr("width", config.width).attr("height", config.height).attr("class", "landscape-chart");
  if (data.axes.length === 1) drawLine(svg, data, config);
  else drawGrid(svg, data, config);
}

function extent(values: number[]): [number, number] {
  const [lo, hi] = d3.extent(values) as [number | undefined, number | undefined];
  if (lo == null || hi == null) return [0, 1];
  return lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi];
}

function drawLine(svg: Svg, data: LandscapeData, config: LandscapeConfig): void {
  const m = { top: 12, right: 130, bottom: 36, left: 56 };
  const w = config.width - m.left - m.right;
  const h = config.height - m.top - m.bottom;
  const g = svg.append("g").attr("transform", `translate(${m.left},${m.top})`);
  const ticks = data.ticks[0];
  const x = d3.scaleLinear().domain(extent(ticks)).range([0, w]);
  const all = data.points.flatMap((p) => [...p.values, p.mean]).filter((v): v is number => v != null);
  const y = d3.scaleLinear().domain(extent(all)).nice().range([h, 0]);
  g.append("g").attr("transform", `translate(0,${h})`).call(d3.axisBottom(x).ticks(Math.min(ticks.length, 8)));
  g.append("g").call(d3.axisLeft(y).ticks(5));
  g.append("text").attr("x", w / 2).attr("y", h + 30).attr("text-anchor", "middle").attr("class", "axis-title").text(data.axes[0]);
  g.append("text").attr("transform", "rotate(-90)").attr("x", -h / 2).attr("y", -44).attr("text-anchor", "middle").attr("class", "axis-title").text(data.metric);
  const pts = [...data.points].sort((a, b) => a.index - b.index);
  const series = [
    ...data.rowLabels.map((label, r) => ({ label, color: ROW_COLORS[r % ROW_COLORS.length], get: (p: LandscapePointData) => p.values[r], width: 1.5, dash: "4 3" })),
    { label: "mean", color: "#222", get: (p: LandscapePointData) => p.mean, width: 2.5, dash: "" },
  ];
  series.forEach((s, k) => {
    const line = d3
      .line<LandscapePointData>()
      .defined((p) => s.get(p) != null)
      .x((p) => x(ticks[p.index]))
      .y((p) => y(s.get(p)!));
    g.append("path").datum(pts).attr("fill", "none").attr("stroke", s.color).attr("stroke-width", s.width).attr("stroke-dasharray", s.dash).attr("d", line).attr("data-series", s.label);
    g.append("text").attr("x", w + 8).attr("y", 10 + k * 14).attr("fill", s.color).attr("font-size", 11).text(s.label);
  });
  const best = bestPoint(data.points, data.higherIsBetter);
  g.selectAll("circle.landscape-cell")
    .data(pts)
    .join("circle")
    .attr("class", "landscape-cell")
    .attr("data-testid", "landscape-cell")
    .attr("data-index", (p) => p.index)
    .attr("data-mean", (p) => (p.mean == null ? "" : String(p.mean)))
    .attr("cx", (p) => x(ticks[p.index]))
    .attr("data-best", (p) => (p.index === best ? "1" : null))
    .attr("cy", (p) => (p.mean == null ? h : y(p.mean)))
    .attr("r", (p) => (p.index === best ? 7 : 5))
    .attr("fill", "#222")
    .attr("stroke", (p) => (p.index === best ? "#e15759" : "none"))
    .attr("stroke-width", 3)
    .style("cursor", "pointer")
    .on("mouseenter", (_e, p) => config.onHover?.(p))
    .on("mouseleave", () => config.onHover?.(null))
    .on("click", (_e, p) => config.onClick?.(p));
  const top = pts.find((p) => p.index === best);
  if (top?.mean != null)
    g.append("text")
      .attr("class", "landscape-best")
      .attr("data-testid", "landscape-best")
      .attr("x", x(ticks[top.index]))
      .attr("y", y(top.mean) - 10)
      .attr("text-anchor", "middle")
      .attr("font-size", 10)
      .attr("fill", "#e15759")
      .text("best");
}

function drawGrid(svg: Svg, data: LandscapeData, config: LandscapeConfig): void {
  const m = { top: 12, right: 120, bottom: 40, left: 64 };
  const w = config.width - m.left - m.right;
  const h = config.height - m.top - m.bottom;
  const g = svg.append("g").attr("transform", `translate(${m.left},${m.top})`);
  const [t0, t1] = data.ticks;
  const x = d3.scaleBand<number>().domain(d3.range(t1.length)).range([0, w]).padding(0.04);
  const y = d3.scaleBand<number>().domain(d3.range(t0.length)).range([h, 0]).padding(0.04);
  const means = data.points.map((p) => p.mean).filter((v): v is number => v != null);
  const [lo, hi] = extent(means);
  const color = d3.scaleSequential(d3.interpolateViridis).domain(data.higherIsBetter ? [lo, hi] : [hi, lo]);
  const every = (n: number) => Math.max(1, Math.ceil(n / 8));
  g.append("g")
    .attr("transform", `translate(0,${h})`)
    .call(d3.axisBottom(x).tickValues(x.domain().filter((i) => i % every(t1.length) === 0)).tickFormat((i) => fmt(t1[i as number])));
  g.append("g").call(d3.axisLeft(y).tickValues(y.domain().filter((i) => i % every(t0.length) === 0)).tickFormat((i) => fmt(t0[i as number])));
  g.append("text").attr("x", w / 2).attr("y", h + 34).attr("text-anchor", "middle").attr("class", "axis-title").text(data.axes[1]);
  g.append("text").attr("transform", "rotate(-90)").attr("x", -h / 2).attr("y", -50).attr("text-anchor", "middle").attr("class", "axis-title").text(data.axes[0]);
  const best = bestPoint(data.points, data.higherIsBetter);
  g.selectAll("rect.landscape-cell")
    .data(data.points)
    .join("rect")
    .attr("class", "landscape-cell")
    .attr("data-testid", "landscape-cell")
    .attr("data-index", (p) => p.index)
    .attr("data-mean", (p) => (p.mean == null ? "" : String(p.mean)))
    .attr("data-best", (p) => (p.index === best ? "1" : null))
    .attr("x", (p) => x(p.index % t1.length)!)
    .attr("y", (p) => y(Math.floor(p.index / t1.length))!)
    .attr("width", x.bandwidth())
    .attr("height", y.bandwidth())
    .attr("fill", (p) => (p.mean == null ? "#ddd" : color(p.mean)))
    .attr("stroke", (p) => (p.index === best ? "#e15759" : "none"))
    .attr("stroke-width", 2)
    .style("cursor", "pointer")
    .on("mouseenter", (_e, p) => config.onHover?.(p))
    .on("mouseleave", () => config.onHover?.(null))
    .on("click", (_e, p) => config.onClick?.(p));
  // the colour legend: a vertical bar of the mean, best at the top
  const lh = Math.min(h, 160);
  const lx = w + 16;
  const id = `ls-${Math.random().toString(36).slice(2, 8)}`;
  const grad = svg.append("defs").append("linearGradient").attr("id", id).attr("x1", 0).attr("x2", 0).attr("y1", 1).attr("y2", 0);
  for (let i = 0; i <= 10; i++) grad.append("stop").attr("offset", `${i * 10}%`).attr("stop-color", color(lo + ((hi - lo) * i) / 10));
  const legend = g.append("g").attr("class", "landscape-legend").attr("data-testid", "landscape-legend").attr("transform", `translate(${lx},0)`);
  legend.append("rect").attr("width", 12).attr("height", lh).attr("fill", `url(#${id})`).attr("stroke", "#999");
  legend.append("g").attr("transform", "translate(12,0)").call(d3.axisRight(d3.scaleLinear().domain([lo, hi]).range([lh, 0])).ticks(4));
  legend.append("text").attr("y", lh + 14).attr("font-size", 10).text(`mean ${data.metric}`);
}
