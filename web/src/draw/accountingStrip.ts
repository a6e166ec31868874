// Where relevance is lost: ΣR after every layer as a share of the start relevance (the target's logit),
// drawn over the same layer axis as the segment ruler, and per segment the shares its bias terms and ε
// absorbed, what neurons with nothing to pass to (a denominator of 0, e.g. z⁺ at all-negative neurons)
// dropped, and what α − β ≠ 1 created or destroyed. Labels are plain words with readable numbers
// (lib/numbers.ts): "bias took 12 %", "ε took under 0.01 %", "the rule added 3 %".
import * as d3 from "d3";
import { formatNumber } from "../lib/numbers";
import type { Svg } from "./types";

export interface AccountingData {
  start: number;
  final: number;
  conservation: { layer: number; sum: number }[];
  absorbed: Absorbed[];
  nLayers: number;
  colors: (segment: number) => string;
}

// The same horizontal layout as the segment ruler (draw/ruler.ts), so layer i sits under layer i.
const MARGIN = 6;
const LEFT = MARGIN;
const PLOT_H = 70;
const ROW_H = 16;

/** A segment's shares of the start relevance, by cause (fractions; positive: taken, negative: added). */
export interface Absorbed {
  segment: number;
  start: number;
  end: number;
  bias: number;
  stabiliser: number;
  rule: number;
  dropped: number;
  total: number;
}

/** Shares below this (0.01 %) read "under 0.01 %": rounding noise, never "3e-4 %". */
const TINY = 1e-4;

/** A share of the logit as a percentage people read: "12 %", "0.35 %", "under 0.01 %", "0 %" (sign dropped). */
function pct(x: number): string {
  const a = Math.abs(x);
  if (!Number.isFinite(a)) return formatNumber(a);
  if (a === 0) return "0 %";
  if (a < TINY) return "under 0.01 %";
  const v = 100 * a;
  return `${v >= 10 ? formatNumber(Math.round(v)) : formatNumber(v, 2)} %`;
}

/** A signed share in words: "took 12 %", "added 3 %" (negative shares are relevance the segment created). */
function tookOrAdded(x: number): string {
  return x < 0 && Math.abs(x) >= TINY ? `added ${pct(x)}` : `took ${pct(x)}`;
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
    .text(`relevance left after each layer, as a share of the logit · ${keptWords(data.final / start)}`);

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
  seg.append("title").text((s) => `${segmentSentence(s)}: ${absorbedParts(s).join(", ")}`);
  seg
    .filter((s) => x(s.end + 1) - x(s.start) > 22)
    .append("text")
    .attr("y", 14)
    .attr("x", 2)
    .text((s) => `S${s.segment + 1}`);
}

/** "S2 (layers 5–9) lost 12 % of the logit" (or "added", or "kept everything"). */
export function segmentSentence(s: Absorbed): string {
  const head = `S${s.segment + 1} (layers ${s.start}–${s.end})`;
  if (Math.abs(s.total) < TINY) return `${head} passed on all it received`;
  return s.total > 0 ? `${head} lost ${pct(s.total)} of the logit` : `${head} added ${pct(s.total)} of the logit`;
}

/**
 * A segment's shares in plain words, each named by its true cause, only the causes that moved relevance:
 * "the bias took 12 %", "ε took 0.3 %", "neurons with nothing to pass to dropped 40 %" (z⁺ at neurons whose
 * contributions are all negative, or any zero denominator where ε is 0), "the rule added 5 %" (α − β ≠ 1,
 * or the neuron filter). Causes under `min` (0.01 % of the logit) are left out.
 */
export function absorbedParts(s: Absorbed, min: number = TINY): string[] {
  const parts: string[] = [];
  const shown = (x: number) => Math.abs(x) >= min; // rounding noise (under 0.01 %) is no cause
  if (shown(s.bias)) parts.push(`the bias ${tookOrAdded(s.bias)}`);
  if (shown(s.stabiliser)) parts.push(`ε ${tookOrAdded(s.stabiliser)}`);
  if (shown(s.dropped)) parts.push(`neurons with nothing to pass to dropped ${pct(s.dropped)}`);
  if (shown(s.rule)) parts.push(`the rule (α − β, filter) ${tookOrAdded(s.rule)}`);
  return parts.length ? parts : ["nothing lost"];
}

/** What reaches the input, in words: "the input keeps 1.2 % of the logit". */
export function keptWords(share: number): string {
  return share < 0 ? `the input's relevance sums to −${pct(share)} of the logit` : `the input keeps ${pct(share)} of the logit`;
}

export { pct as sharePercent };
