// A heatmap canvas with its legend; shared by the result view, the intermediate maps and comparisons.
import * as d3 from "d3";
import type { HeatmapData } from "../api/types";
import { drawLegend } from "../draw/legend";
import { type Lut, SEQUENTIAL_LUT, paint, paintSequential, scaleOf, sequentialRange } from "../lib/colormap";
import { h } from "../lib/dom";

export function heatmapFigure(
  data: HeatmapData,
  lut: Lut,
  opts: { size: number; scale?: number; legend?: boolean; testid?: string; caption?: string; sequential?: boolean },
): HTMLElement {
  const scale = opts.scale ?? scaleOf(data);
  // Unsigned quantities (activations) on the sequential map, whatever the relevance colours are.
  const range = opts.sequential && data.kind === "map" ? sequentialRange(data) : undefined;
  const canvas = h("canvas", { class: data.kind === "map" ? "hm" : "hm vector", width: opts.size, height: 64 });
  canvas.style.width = `${opts.size}px`;
  canvas.style.height = data.kind === "map" ? `${opts.size}px` : "64px";
  if (range) paintSequential(canvas, data, SEQUENTIAL_LUT, range);
  else paint(canvas, data, lut, scale);
  if (range) canvas.dataset.sequential = "1";
  const fig = h("figure", { class: "heatmap-figure", "data-testid": opts.testid }, canvas);
  if (opts.legend) {
    const svg = d3.create("svg");
    drawLegend(svg, range ? { lut: SEQUENTIAL_LUT, scale, range } : { lut, scale }, { width: opts.size });
    fig.append(svg.node()!);
  }
  if (opts.caption) fig.append(h("figcaption", {}, opts.caption));
  return fig;
}
