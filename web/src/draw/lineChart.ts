// Lines over a shared x axis (flipping curves over the flipped fraction, ablation curves over k).
import * as d3 from "d3";
import type { Svg } from "./types";

export interface Line {
  name: string;
  color: string;
  points: [number, number][];
}

export function drawLineChart(
  svg: Svg,
  data: { lines: Line[]; xLabel: string; yLabel: string },
  config: { width: number; height: number },
): void {
  const m = { top: 8, right: 10, bottom: 30, left: 42 };
  const { width: w, height: h } = config;
  svg.selectAll("*").remove();
  svg.attr("width", w).attr("height", h).attr("class", "line-chart");
  const pts = data.lines.flatMap((l) => l.points);
  const x = d3.scaleLinear().domain(d3.extent(pts, (p) => p[0]) as [number, number]).range([m.left, w - m.right]);
  const y = d3.scaleLinear().domain(d3.extent(pts, (p) => p[1]) as [number, number]).nice().range([h - m.bottom, m.top]);
  svg.append("g").attr("transform", `translate(0,${h - m.bottom})`).call(d3.axisBottom(x).ticks(6));
  svg.append("g").attr("transform", `translate(${m.left},0)`).call(d3.axisLeft(y).ticks(5));
  svg.append("text").attr("class", "axis-label").attr("x", (m.left + w - m.right) / 2).attr("y", h - 2).attr("text-anchor", "middle").text(data.xLabel);
  svg
    .append("text")
    .attr("class", "axis-label")
    .attr("transform", `translate(10,${(m.top + h - m.bottom) / 2}) rotate(-90)`)
    .attr("text-anchor", "middle")
    .text(data.yLabel);
  const line = d3
    .line<[number, number]>()
    .x((p) => x(p[0]))
    .y((p) => y(p[1]));
  svg
    .append("g")
    .selectAll("path")
    .data(data.lines)
    .join("path")
    .attr("data-testid", "curve-line")
    .attr("data-name", (l) => l.name)
    .attr("fill", "none")
    .attr("stroke", (l) => l.color)
    .attr("stroke-width", 2)
    .attr("d", (l) => line(l.points));
}
