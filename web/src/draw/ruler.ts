// The segment ruler: every layer as a cell labelled by kind, segments as coloured bands above, and a
// handle on each boundary between two segments: a grip above the bands (so even a one-layer segment's
// band stays clickable) that can be dragged, or focused (Tab) and moved with the arrow keys. A
// transformer's encoder blocks get a labelled band each under the layers ("block 0", …), with dashed
// lines at their edges; clicking one (or Enter on it) starts a segment at the block's first layer.
import * as d3 from "d3";
import type { LayerInfo, LRPModel, PresetInfo } from "../api/types";
import { blocksOf } from "../lib/layers";
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
  /** A segment should start at this layer (a block's first layer was clicked); only transformers call it. */
  onSplitAt?: (start: number) => void;
}

const GRIP_H = 12;
const BAND_Y = GRIP_H + 1;
const BAND_H = 22;
const CELL_Y = BAND_Y + BAND_H + 4;
const CELL_H = 40;
const MARGIN = 6;
const BLOCK_GAP = 2;
const BLOCK_H = 15;

export function drawRuler(svg: Svg, data: RulerData, config: RulerConfig): void {
  const n = data.layers.length;
  const w = config.width;
  const cw = (w - 2 * MARGIN) / Math.max(1, n);
  const x = (i: number) => MARGIN + i * cw;
  const layerAt = (px: number) => Math.round((px - MARGIN) / cw);
  const blocks = blocksOf(data.layers);
  // Tick numbers go under the block bands when there are blocks; a CNN's ruler keeps its height.
  const tickY = CELL_Y + CELL_H + (blocks.length ? BLOCK_GAP + BLOCK_H : 0) + 13;
  svg.selectAll("*").remove();
  svg.attr("width", w).attr("height", tickY + 5).attr("class", "ruler");

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
    .attr("y", tickY)
    .attr("text-anchor", "middle")
    .text((i) => i);

  if (blocks.length) {
    const blockY = CELL_Y + CELL_H + BLOCK_GAP;
    const startsAt = (start: number) => segs.some((s) => s.start === start);
    const band = svg
      .append("g")
      .selectAll("g")
      .data(blocks)
      .join("g")
      .attr("class", (b) => `block${b.block % 2 ? " odd" : ""}`)
      .attr("data-testid", "ruler-block")
      .attr("data-block", (b) => b.block)
      .attr("data-start", (b) => b.start)
      .attr("data-end", (b) => b.end)
      .attr("tabindex", 0)
      .attr("role", "button")
      .attr("aria-label", (b) =>
        `encoder block ${b.block}, layers ${b.start} to ${b.end}${startsAt(b.start) ? ", a segment starts here" : ", press Enter to start a segment here"}`)
      .on("click", (_, b) => config.onSplitAt?.(b.start))
      .on("keydown", (event: KeyboardEvent, b) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          config.onSplitAt?.(b.start);
        }
      });
    band
      .append("rect")
      .attr("x", (b) => x(b.start))
      .attr("y", blockY)
      .attr("width", (b) => Math.max(1, x(b.end + 1) - x(b.start) - 0.5))
      .attr("height", BLOCK_H);
    band
      .append("text")
      .attr("x", (b) => (x(b.start) + x(b.end + 1)) / 2)
      .attr("y", blockY + 11)
      .attr("text-anchor", "middle")
      .text((b) => {
        const width = x(b.end + 1) - x(b.start);
        const full = `block ${b.block}`;
        return width > full.length * 6 ? full : width > 14 ? `b${b.block}` : "";
      });
    band
      .append("title")
      .text((b) => `encoder block ${b.block}: layers ${b.start}–${b.end}${startsAt(b.start) ? " (a segment starts here)" : " · click to start a segment at its first layer"}`);
    // Block edges across the layer cells, so a boundary handle can be put on one by eye.
    const edges = [...new Set(blocks.flatMap((b) => [b.start, b.end + 1]))];
    svg
      .append("g")
      .selectAll("line")
      .data(edges)
      .join("line")
      .attr("class", "block-edge")
      .attr("x1", (i) => x(i))
      .attr("x2", (i) => x(i))
      .attr("y1", CELL_Y)
      .attr("y2", blockY + BLOCK_H);
  }
  const blockStart = new Map(blocks.map((b) => [b.start, b.block]));

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
  const readout = svg.append("text").attr("class", "drag-readout").attr("y", tickY);

  const drag = d3
    .drag<SVGGElement, number>()
    .container(svg.node() as SVGSVGElement)
    .on("start", function () {
      d3.select(this).classed("dragging", true);
    })
    .on("drag", function (event: d3.D3DragEvent<SVGGElement, number, number>, k) {
      const start = Math.max(segs[k].start + 1, Math.min(segs[k + 1].end, layerAt(event.x)));
      d3.select(this).attr("transform", `translate(${x(start)},0)`);
      const block = blockStart.get(start);
      readout.attr("x", x(start)).attr("text-anchor", "middle").text(`S${k + 2} starts at ${start}${block != null ? ` (start of block ${block})` : ""}`);
    })
    .on("end", function (event: d3.D3DragEvent<SVGGElement, number, number>, k) {
      d3.select(this).classed("dragging", false);
      readout.text("");
      const start = Math.max(segs[k].start + 1, Math.min(segs[k + 1].end, layerAt(event.x)));
      if (start !== segs[k + 1].start) config.onMove(k, start);
    });
  handles.call(drag);
}
