// A heatmap canvas with its legend; shared by the result view, the intermediate maps and comparisons.
import * as d3 from "d3";
import type { HeatmapData } from "../api/types";
import { drawLegend } from "../draw/legend";
import { type Lut, paint, scaleOf } from "../lib/colormap";
import { h } from "../lib/dom";

export function heatmapFigure(
  data: HeatmapData,
  lut: Lut,
  opts: { size: number; scale?: number; legend?: boolean; testid?: string; caption?: string },
): HTMLElement {
  const scale = opts.scale ?? scaleOf(data);
  const canvas = h("canvas", { class: data.kind === "map" ? "hm" : "hm vector", width: opts.size, height: 64 });
  canvas.style.width = `${opts.size}px`;
  canvas.style.height = data.kind === "map" ? `${opts.size}px` : "64px";
  paint(canvas, data, lut, scale);
  const fig = h("figure", { class: "heatmap-figure", "data-testid": opts.testid }, canvas);
  if (opts.legend) {
    const svg = d3.create("svg");
    drawLegend(svg, { lut, scale }, { width: opts.size });
    fig.append(svg.node()!);
  }
  if (opts.caption) fig.append(h("figcaption", {}, opts.caption));
  return fig;
}
