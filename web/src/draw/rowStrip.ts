// One design's values of a metric on each row, as dots on a shared horizontal scale with a tick at the
// mean: the recommendations draw one strip per card, all cards of a metric on the same domain, so the
// spread over rows and the distance between designs read at a glance. Rows keep the landscape's colours.
import * as d3 from "d3";
import { fmt } from "../lib/dom";
import type { Svg } from "./types";

export interface RowStripData {
  /** The design's value per row (null where the metric is undefined). */
  values: (number | null)[];
  mean: number | null;
  rowLabels: string[];
  /** The value range shared by the strips that are compared (e.g. all cards of one metric). */
  domain: [number, number];
  higherIsBetter: boolean;
}

export interface RowStripConfig {
  width: number;
  height?: number;
}

const ROW_COLORS = d3.schemeTableau10;

/** The range of the defined values, widened when it is a single number (a strip needs a width). */
export function stripDomain(values: (number | null)[]): [number, number] {
  const [lo, hi] = d3.extent(values.filter((v): v is number => v != null && Number.isFinite(v)));
  if (lo == null || hi == null) return [0, 1];
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.05 || 0.5;
    return [lo - pad, hi + pad];
  }
  return [lo, hi];
}

export function drawRowStrip(svg: Svg, data: RowStripData, config: RowStripConfig): void {
  const height = config.height ?? 30;
  const m = { left: 6, right: 6 };
  const mid = 11;
  svg.selectAll("*").remove();
  svg.attr("width", config.width).attr("height", height).attr("class", "row-strip");
  // the better end on the right, whichever the metric's direction
  const range: [number, number] = data.higherIsBetter ? [m.left, config.width - m.right] : [config.width - m.right, m.left];
  const x = d3.scaleLinear().domain(data.domain).range(range).clamp(true);
  svg.append("line").attr("x1", m.left).attr("x2", config.width - m.right).attr("y1", mid).attr("y2", mid).attr("stroke", "#c9ced6");
  // the domain's ends under the line, and which way is better
  const ends: [number, string][] = [
    [m.left, "start"],
    [config.width / 2, "middle"],
    [config.width - m.right, "end"],
  ];
  const worse = data.higherIsBetter ? data.domain[0] : data.domain[1];
  const better = data.higherIsBetter ? data.domain[1] : data.domain[0];
  [fmt(worse), "better →", fmt(better)].forEach((text, i) =>
    svg
      .append("text")
      .attr("x", ends[i][0])
      .attr("y", height - 1)
      .attr("text-anchor", ends[i][1])
      .attr("font-size", 9)
      .attr("fill", "#8a94a0")
      .text(text),
  );
  if (data.mean != null) {
    svg
      .append("line")
      .attr("class", "row-strip-mean")
      .attr("x1", x(data.mean))
      .attr("x2", x(data.mean))
      .attr("y1", mid - 8)
      .attr("y2", mid + 8)
      .attr("stroke", "#222")
      .attr("stroke-width", 2)
      .append("title")
      .text(`mean ${fmt(data.mean)}`);
  }
  const dots = data.values.map((v, r) => ({ v, r })).filter((d): d is { v: number; r: number } => d.v != null);
  svg
    .selectAll("circle")
    .data(dots)
    .join("circle")
    .attr("data-testid", "row-strip-dot")
    .attr("data-row", (d) => d.r)
    .attr("cx", (d) => x(d.v))
    .attr("cy", mid)
    .attr("r", 4)
    .attr("fill", (d) => ROW_COLORS[d.r % ROW_COLORS.length])
    .attr("fill-opacity", 0.85)
    .attr("stroke", "#fff")
    .append("title")
    .text((d) => `${data.rowLabels[d.r] ?? `row ${d.r + 1}`}: ${fmt(d.v)}`);
}
