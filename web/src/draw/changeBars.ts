// A new top-k after an intervention (flip, ablation): bars of the new scores, a tick at each class's
// score before, and the change in score and rank.
import * as d3 from "d3";
import type { RankedPrediction } from "../api/types";
import type { Svg } from "./types";

export function drawChangeBars(svg: Svg, data: { topk: RankedPrediction[]; target: number | null }, config: { width: number }): void {
  const barH = 18;
  const gap = 3;
  const textW = 92;
  const w = config.width;
  const all = data.topk.flatMap((p) => [p.score, p.original_score]);
  const x = d3
    .scaleLinear()
    .domain([Math.min(0, d3.min(all) ?? 0), Math.max(1e-6, d3.max(all) ?? 1)])
    .range([0, w - textW]);
  svg.selectAll("*").remove();
  svg.attr("width", w).attr("height", data.topk.length * (barH + gap)).attr("class", "change-bars");
  const rows = svg
    .selectAll<SVGGElement, RankedPrediction>("g")
    .data(data.topk)
    .join("g")
    .attr("class", (p) => `pred${p.index === data.target ? " target" : ""}`)
    .attr("data-testid", "changed-prediction")
    .attr("data-class-index", (p) => p.index)
    .attr("transform", (_, i) => `translate(0,${i * (barH + gap)})`);
  rows.append("title").text((p) => `${p.label}: ${p.score.toFixed(3)} (was ${p.original_score.toFixed(3)}, rank ${p.original_rank})`);
  rows
    .append("rect")
    .attr("class", "pred-bar")
    .attr("x", (p) => Math.min(x(0), x(p.score)))
    .attr("width", (p) => Math.max(2, Math.abs(x(p.score) - x(0))))
    .attr("height", barH);
  rows
    .append("line")
    .attr("class", "was")
    .attr("x1", (p) => x(p.original_score))
    .attr("x2", (p) => x(p.original_score))
    .attr("y1", 0)
    .attr("y2", barH);
  rows.append("text").attr("class", "pred-label").attr("x", 4).attr("y", barH / 2 + 4).text((p) => p.label);
  rows
    .append("text")
    .attr("class", (p) => `delta ${p.score >= p.original_score ? "up" : "down"}`)
    .attr("x", w - 2)
    .attr("y", barH / 2 + 4)
    .attr("text-anchor", "end")
    .text((p, i) => {
      const moved = p.original_rank - (i + 1);
      const rank = moved === 0 ? "" : moved > 0 ? ` ▲${moved}` : ` ▼${-moved}`;
      return `${p.score.toFixed(2)} (${p.score >= p.original_score ? "+" : ""}${(p.score - p.original_score).toFixed(2)})${rank}`;
    });
}
