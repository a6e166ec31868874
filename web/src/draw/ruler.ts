// The segment ruler: every layer as a cell labelled by kind, segments as coloured bands above, and a
// handle on each boundary between two segments: a grip above the bands (so even a one-layer segment's
// band stays clickable) that can be dragged, or focused (Tab) and moved with the arrow keys.
import * as d3 from "d3";
import type { LayerInfo, LRPModel, PresetInfo } from "../api/types";
import { presetLabel } from "./segmentBars";
import { KIND_SHORT, kindColor, segmentColor } from "./theme";
import type { Svg } from "./types";

export interface RulerData {
  layers: LayerInfo[];
  model: LRPModel;
  selected: number;
  presets: PresetInfo[];
}

export interface RulerConfig {
  width: number;
  onSelect: (segment: number) => void;
  /** Segment k+1 should start at `start` (called when a drag ends). */
  onMove: (k: number, start: number) => void;
  onHover: (layer: LayerInfo | null, event?: MouseEvent) => void;
}

const GRIP_H = 12;
const BAND_Y = GRIP_H + 1;
const BAND_H = 22;
const CELL_Y = BAND_Y + BAND_H + 4;
const CELL_H = 40;
const MARGIN = 6;

export function drawRuler(svg: Svg, data: RulerData, config: RulerConfig): void {
  const n = data.layers.length;
  const w = config.width;
  const cw = (w - 2 * MARGIN) / Math.max(1, n);
  const x = (i: number) => MARGIN + i * cw;
  const layerAt = (px: number) => Math.round((px - MARGIN) / cw);
  svg.selectAll("*").remove();
  svg.attr("width", w).attr("height", CELL_Y + CELL_H + 18).attr("class", "ruler");

  const segs = data.model.segments;
  const bands = svg
    .append("g")
    .selectAll("g")
    .data(segs)
    .join("g")
    .attr("class", (_, k) => `band${k === data.selected ? " selected" : ""}`)
    .attr("data-testid", "ruler-segment")
    .attr("data-segment", (_, k) => k)
    .attr("tabindex", 0)
    .attr("role", "button")
    .attr("aria-label", (s, k) => `segment ${k + 1}, layers ${s.start} to ${s.end}, ${presetLabel(s.preset, data.presets)}`)
    .on("click", (_, s) => config.onSelect(segs.indexOf(s)))
    .on("keydown", (event: KeyboardEvent, s) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        config.onSelect(segs.indexOf(s));
      }
    });
  bands
    .append("rect")
    .attr("x", (s) => x(s.start))
    .attr("y", BAND_Y)
    .attr("width", (s) => x(s.end + 1) - x(s.start))
    .attr("height", BAND_H)
    .attr("fill", (_, k) => segmentColor(k));
  bands
    .append("text")
    .attr("x", (s) => (x(s.start) + x(s.end + 1)) / 2)
    .attr("y", BAND_Y + 15)
    .attr("text-anchor", "middle")
    .text((s, k) => {
      const width = x(s.end + 1) - x(s.start);
      const full = `S${k + 1} · ${presetLabel(s.preset, data.presets)}`;
      return width > full.length * 6.5 ? full : width > 22 ? `S${k + 1}` : "";
    });

  const cells = svg
    .append("g")
    .selectAll("g")
    .data(data.layers)
    .join("g")
    .attr("class", "layer")
    .attr("data-testid", "ruler-layer")
    .attr("transform", (l) => `translate(${x(l.index)},${CELL_Y})`)
    .on("mouseenter", (event: MouseEvent, l) => config.onHover(l, event))
    .on("mousemove", (event: MouseEvent, l) => config.onHover(l, event))
    .on("mouseleave", () => config.onHover(null))
    // A click on a layer selects the segment holding it: the way to pick a segment too narrow to aim at.
    .on("click", (_, l) => {
      const k = segs.findIndex((s) => s.start <= l.index && l.index <= s.end);
      if (k >= 0) config.onSelect(k);
    });
  cells
    .append("rect")
    .attr("width", Math.max(1, cw - 0.5))
    .attr("height", CELL_H)
    .attr("fill", (l) => kindColor(l.kind));
  if (cw >= 6) {
    cells
      .append("text")
      .attr("transform", `translate(${cw / 2 + 3},${CELL_H - 3}) rotate(-90)`)
      .attr("class", "kind")
      .style("font-size", `${Math.min(9, cw + 1)}px`)
      .text((l) => KIND_SHORT[l.kind] ?? l.kind.slice(0, 4));
  }
  const ticks = d3.range(0, n, n > 60 ? 10 : 5);
  svg
    .append("g")
    .selectAll("text")
    .data(ticks)
    .join("text")
    .attr("class", "tick")
    .attr("x", (i) => x(i) + cw / 2)
    .attr("y", CELL_Y + CELL_H + 13)
    .attr("text-anchor", "middle")
    .text((i) => i);

  const handles = svg
    .append("g")
    .selectAll<SVGGElement, number>("g")
    .data(d3.range(segs.length - 1))
    .join("g")
    .attr("class", "boundary")
    .attr("data-testid", "ruler-boundary")
    .attr("data-boundary", (k) => k)
    .attr("tabindex", 0)
    .attr("role", "slider")
    .attr("aria-label", (k) => `start of segment ${k + 2}`)
    .attr("aria-valuemin", (k) => segs[k].start + 1)
    .attr("aria-valuemax", (k) => segs[k + 1].end)
    .attr("aria-valuenow", (k) => segs[k + 1].start)
    .attr("transform", (k) => `translate(${x(segs[k + 1].start)},0)`);
  handles.append("line").attr("y1", GRIP_H).attr("y2", CELL_Y + CELL_H);
  handles.append("path").attr("class", "grip").attr("d", `M-5,0H5V${GRIP_H - 4}L0,${GRIP_H}L-5,${GRIP_H - 4}Z`);
  handles.append("title").text("drag, or focus and use ←/→ (Shift: 5 layers), to move this segment boundary");
  // Arrow keys move the boundary by one layer (five with Shift); Home/End to the furthest allowed.
  handles.on("keydown", (event: KeyboardEvent, k) => {
    const step = event.shiftKey ? 5 : 1;
    const cur = segs[k + 1].start;
    const lo = segs[k].start + 1;
    const hi = segs[k + 1].end;
    const to: Record<string, number> = { ArrowLeft: cur - step, ArrowDown: cur - step, ArrowRight: cur + step, ArrowUp: cur + step, Home: lo, End: hi };
    if (!(event.key in to)) return;
    event.preventDefault();
    const start = Math.max(lo, Math.min(hi, to[event.key]));
    if (start !== cur) config.onMove(k, start);
  });
  const readout = svg.append("text").attr("class", "drag-readout").attr("y", CELL_Y + CELL_H + 13);

  const drag = d3
    .drag<SVGGElement, number>()
    .container(svg.node() as SVGSVGElement)
    .on("start", function () {
      d3.select(this).classed("dragging", true);
    })
    .on("drag", function (event: d3.D3DragEvent<SVGGElement, number, number>, k) {
      const start = Math.max(segs[k].start + 1, Math.min(segs[k + 1].end, layerAt(event.x)));
      d3.select(this).attr("transform", `translate(${x(start)},0)`);
      readout.attr("x", x(start)).attr("text-anchor", "middle").text(`S${k + 2} starts at ${start}`);
    })
    .on("end", function (event: d3.D3DragEvent<SVGGElement, number, number>, k) {
      d3.select(this).classed("dragging", false);
      readout.text("");
      const start = Math.max(segs[k].start + 1, Math.min(segs[k + 1].end, layerAt(event.x)));
      if (start !== segs[k + 1].start) config.onMove(k, start);
    });
  handles.call(drag);
}
