// Where relevance is lost: ΣR after every layer as a share of the start relevance (the target's logit),
// drawn over the same layer axis as the segment ruler, and per segment the shares its bias terms and its
// stabilisers (ε, and denominators that pass nothing) absorbed, and what α − β ≠ 1 created or destroyed.
import * as d3 from "d3";
import type { Svg } from "./types";

export interface AccountingData {
  start: number;
  final: number;
  conservation: { layer: number; sum: number }[];
  absorbed: { segment: number; start: number; end: number; bias: number; stabiliser: number; rule: number; total: number }[];
  nLayers: number;
  colors: (segment: number) => string;
}

// The same horizontal layout as the segment ruler (draw/ruler.ts), so layer i sits under layer i.
const MARGIN = 6;
const LEFT = MARGIN;
const PLOT_H = 70;
const ROW_H = 16;

function pct(x: number): string {
  const v = 100 * x;
  if (v === 0) return "0 %";
  const a = Math.abs(v);
  return `${a >= 10 ? v.toFixed(0) : a >= 0.1 ? v.toFixed(1) : v.toExponential(0)} %`;
}

export function drawAccountingStrip(svg: Svg, data: AccountingData, config: { width: number }): void {
  const w = config.width;
  const n = Math.max(1, data.nLayers);
  const cw = (w - LEFT - MARGIN) / n;
  const x = (i: number) => LEFT + i * cw;
  const start = data.start || 1;
  const shares = data.conservation.map((p) => ({ layer: p.layer, share: p.sum / start }));
  const top = Math.max(1.05, ...shares.map((p) => p.share));
  const bottom = Math.min(0, ...shares.map((p) => p.share));
  const y = d3.scaleLinear().domain([bottom, top]).nice(4).range([MARGIN + PLOT_H, MARGIN]);
  const height = MARGIN + PLOT_H + 4 + ROW_H + MARGIN;
  svg.selectAll("*").remove();
  svg.attr("width", w).attr("height", height).attr("class", "accounting-strip");

  // Segment spans behind the curve.
  svg
    .append("g")
    .selectAll("rect")
    .data(data.absorbed)
    .join("rect")
    .attr("x", (s) => x(s.start))
    .attr("width", (s) => x(s.end + 1) - x(s.start))
    .attr("y", MARGIN)
    .attr("height", PLOT_H)
    .attr("fill", (s) => data.colors(s.segment))
    .attr("opacity", 0.12);
  svg.append("g").attr("class", "axis").attr("transform", `translate(${LEFT},0)`).call(d3.axisRight(y).ticks(3).tickSize(4).tickFormat((v) => `${Math.round(100 * Number(v))}%`));
  svg.append("line").attr("class", "full").attr("x1", LEFT).attr("x2", w - MARGIN).attr("y1", y(1)).attr("y2", y(1));
  // ΣR after each layer; relevance flows from the output (right) to the input (left).
  const line = d3
    .line<{ layer: number; share: number }>()
    .x((p) => x(p.layer) + cw / 2)
    .y((p) => y(p.share))
    .curve(d3.curveStepAfter);
  svg.append("path").attr("class", "sum-line").attr("data-testid", "conservation-line").attr("d", line(shares));
  svg
    .append("text")
    .attr("class", "caption")
    .attr("x", w / 2)
    .attr("text-anchor", "middle")
    .attr("y", MARGIN + 10)
    .text(`ΣR after each layer ÷ the logit · at the input ${pct(data.final / start)}`);

  // Per segment: what its bias terms, stabilisers and α − β took (positive) or added (negative).
  const rows = svg.append("g").attr("transform", `translate(0,${MARGIN + PLOT_H + 4})`);
  const seg = rows
    .selectAll("g")
    .data(data.absorbed)
    .join("g")
    .attr("class", "absorbed")
    .attr("data-testid", "absorbed-segment")
    .attr("data-segment", (s) => s.segment)
    .attr("transform", (s) => `translate(${x(s.start)},0)`);
  seg
    .append("rect")
    .attr("width", (s) => x(s.end + 1) - x(s.start))
    .attr("height", 3)
    .attr("fill", (s) => data.colors(s.segment));
  seg.append("title").text((s) => `S${s.segment + 1} (layers ${s.start}–${s.end}) absorbed ${pct(s.total)} of the logit: ${absorbedParts(s).join(", ")} (negative: added)`);
  seg
    .filter((s) => x(s.end + 1) - x(s.start) > 22)
    .append("text")
    .attr("y", 14)
    .attr("x", 2)
    .text((s) => `S${s.segment + 1}`);
}

/** A segment's absorbed shares in words: bias, stabiliser, and α − β when it is not zero. */
export function absorbedParts(s: AccountingData["absorbed"][number]): string[] {
  const parts = [`bias ${pct(s.bias)}`, `ε ${pct(s.stabiliser)}`];
  if (s.rule) parts.push(`α−β ${pct(s.rule)}`);
  return parts;
}

export { pct as sharePercent };
