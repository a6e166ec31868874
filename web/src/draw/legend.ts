// A colour-bar legend for a symmetric relevance scale, or for a sequential [lo, hi] range.
import type { Lut } from "../lib/colormap";
import { fmt } from "../lib/dom";
import type { Svg } from "./types";

export function drawLegend(
  svg: Svg,
  data: { lut: Lut; scale: number; caption?: string; range?: [number, number] },
  config: { width: number },
): void {
  const w = config.width;
  const barH = 10;
  const id = `lg-${Math.random().toString(36).slice(2, 8)}`;
  svg.selectAll("*").remove();
  svg.attr("width", w).attr("height", 30).attr("class", "legend");
  const grad = svg.append("defs").append("linearGradient").attr("id", id);
  const n = 16;
  for (let i = 0; i <= n; i++) {
    const c = data.lut[Math.round((i / n) * (data.lut.length - 1))];
    grad.append("stop").attr("offset", `${(i / n) * 100}%`).attr("stop-color", `rgb(${c[0]},${c[1]},${c[2]})`);
  }
  svg.append("rect").attr("x", 1).attr("y", 1).attr("width", w - 2).attr("height", barH).attr("fill", `url(#${id})`).attr("stroke", "#999");
  const labels: [number, string, string][] = data.range
    ? [
        [1, fmt(data.range[0]), "start"],
        [w / 2, data.caption ?? "", "middle"],
        [w - 1, fmt(data.range[1]), "end"],
      ]
    : [
        [1, `−${fmt(data.scale)}`, "start"],
        [w / 2, data.caption ?? "0", "middle"],
        [w - 1, `+${fmt(data.scale)}`, "end"],
      ];
  svg
    .selectAll("text")
    .data(labels)
    .join("text")
    .attr("x", (d) => d[0])
    .attr("y", 26)
    .attr("text-anchor", (d) => d[2])
    .text((d) => d[1]);
}
