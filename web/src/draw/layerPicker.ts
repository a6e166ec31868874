// A layer ruler for picking one layer of the neuron view: every layer as a cell coloured by kind; conv
// layers and attention heads layers (lib/layers.ts neuronUnit) are clickable and the chosen one is marked.
import * as d3 from "d3";
import type { LayerInfo } from "../api/types";
import { neuronUnit } from "../lib/layers";
import { kindColor } from "./theme";
import type { Svg } from "./types";

export function drawLayerPicker(
  svg: Svg,
  data: { layers: LayerInfo[]; selected: number | null },
  config: { width: number; onPick: (index: number) => void },
): void {
  const n = data.layers.length;
  const margin = 6;
  const cw = (config.width - 2 * margin) / Math.max(1, n);
  const cellH = 26;
  svg.selectAll("*").remove();
  svg.attr("width", config.width).attr("height", cellH + 20).attr("class", "ruler layer-picker");
  const pickable = (l: LayerInfo) => neuronUnit(l) != null;
  const cells = svg
    .append("g")
    .selectAll("g")
    .data(data.layers)
    .join("g")
    .attr("class", (l) => `layer${pickable(l) ? " pickable" : ""}${l.index === data.selected ? " picked" : ""}`)
    .attr("data-testid", (l) => (pickable(l) ? "layer-cell" : null))
    .attr("data-layer-index", (l) => l.index)
    .attr("data-unit", (l) => neuronUnit(l))
    .attr("transform", (l) => `translate(${margin + l.index * cw},0)`)
    .on("click", (_, l) => {
      if (pickable(l)) config.onPick(l.index);
    });
  cells
    .append("rect")
    .attr("width", Math.max(1, cw - 0.5))
    .attr("height", cellH)
    .attr("fill", (l) => (l.index === data.selected ? "#7b3fa0" : kindColor(l.kind)));
  cells.append("title").text((l) => {
    const unit = neuronUnit(l);
    const block = l.block != null ? `, block ${l.block}` : "";
    return `${l.index} ${l.name} (${l.kind}, ${l.shape.join("×")}${block})${unit ? ` — click to inspect its ${unit === "head" ? "attention heads" : "channels"}` : ""}`;
  });
  const ticks = d3.range(0, n, n > 60 ? 10 : 5);
  svg
    .append("g")
    .selectAll("text")
    .data(ticks)
    .join("text")
    .attr("class", "tick")
    .attr("x", (i) => margin + i * cw + cw / 2)
    .attr("y", cellH + 13)
    .attr("text-anchor", "middle")
    .text((i) => i);
}
