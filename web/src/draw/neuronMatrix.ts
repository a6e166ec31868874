// Neurons of a layer as a matrix of cells coloured by one score; selected cells are outlined. Hover
// reports a neuron; click adds or removes it from the selection.
import type { Lut } from "../lib/colormap";
import { cssColor } from "../lib/colormap";
import type { Svg } from "./types";

export function drawNeuronMatrix(
  svg: Svg,
  data: { values: number[]; selected: Set<number>; lut: Lut; scale: number },
  config: { width: number; onHover: (channel: number | null, event?: MouseEvent) => void; onClick: (channel: number) => void },
): void {
  const n = data.values.length;
  const cols = Math.max(1, Math.ceil(Math.sqrt(n * 2)));
  const cell = Math.max(4, Math.min(18, Math.floor(config.width / cols)));
  const rows = Math.ceil(n / cols);
  svg.selectAll("*").remove();
  svg.attr("width", cols * cell + 2).attr("height", rows * cell + 2).attr("class", "neuron-matrix");
  svg
    .append("g")
    .attr("transform", "translate(1,1)")
    .selectAll("rect")
    .data(data.values.map((v, c) => ({ c, v })))
    .join("rect")
    .attr("data-testid", "matrix-cell")
    .attr("data-channel", (d) => d.c)
    .attr("class", (d) => (data.selected.has(d.c) ? "selected" : null))
    .attr("x", (d) => (d.c % cols) * cell)
    .attr("y", (d) => Math.floor(d.c / cols) * cell)
    .attr("width", cell - 1)
    .attr("height", cell - 1)
    .attr("fill", (d) => cssColor(data.lut, d.v, data.scale))
    .on("mouseenter", (event: MouseEvent, d) => config.onHover(d.c, event))
    .on("mousemove", (event: MouseEvent, d) => config.onHover(d.c, event))
    .on("mouseleave", () => config.onHover(null))
    .on("click", (_, d) => config.onClick(d.c));
}
