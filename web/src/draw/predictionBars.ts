// Top-k classes as horizontal bars of pre-softmax scores, labels on the bars.
import * as d3 from "d3";
import type { Prediction } from "../api/types";
import type { Svg } from "./types";

export interface PredictionBarsConfig {
  width: number;
  barHeight?: number;
  onSelect: (classIndex: number) => void;
  /** data-testid of each bar (views other than the result view use their own). */
  testid?: string;
}

export function drawPredictionBars(
  svg: Svg,
  data: { topk: Prediction[]; selected: number | null },
  config: PredictionBarsConfig,
): void {
  const barH = config.barHeight ?? 20;
  const gap = 3;
  const scoreW = 44;
  const w = config.width;
  const lo = Math.min(0, d3.min(data.topk, (p) => p.score) ?? 0);
  const hi = Math.max(1e-6, d3.max(data.topk, (p) => p.score) ?? 1);
  const x = d3.scaleLinear().domain([lo, hi]).range([0, w - scoreW]);
  svg.attr("width", w).attr("height", data.topk.length * (barH + gap));
  const rows = svg
    .selectAll<SVGGElement, Prediction>("g.pred")
    .data(data.topk, (p) => String(p.index))
    .join("g")
    .attr("class", (p) => `pred${p.index === data.selected ? " selected" : ""}`)
    .attr("data-testid", config.testid ?? "prediction-bar")
    .attr("data-class-index", (p) => p.index)
    .attr("transform", (_, i) => `translate(0,${i * (barH + gap)})`)
    .on("click", (_, p) => config.onSelect(p.index));
  rows.selectAll("*").remove();
  rows.append("title").text((p) => `class ${p.index}: ${p.label}, score ${p.score.toFixed(3)} — click to explain`);
  rows.append("rect").attr("class", "pred-hit").attr("width", w).attr("height", barH);
  rows
    .append("rect")
    .attr("class", "pred-bar")
    .attr("x", (p) => Math.min(x(0), x(p.score)))
    .attr("width", (p) => Math.max(2, Math.abs(x(p.score) - x(0))))
    .attr("height", barH);
  rows
    .append("text")
    .attr("class", "pred-label")
    .attr("x", 6)
    .attr("y", barH / 2 + 4)
    .text((p) => p.label);
  rows
    .append("text")
    .attr("class", "pred-score")
    .attr("x", w - 2)
    .attr("y", barH / 2 + 4)
    .attr("text-anchor", "end")
    .text((p) => p.score.toFixed(2));
}
