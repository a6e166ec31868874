// Horizontal segment bars of one LRP model: one bar per segment, its length the layer span.
import type { LRPModel, PresetInfo } from "../api/types";
import { segmentColor } from "./theme";
import type { Svg } from "./types";

export interface SegmentBarsData {
  model: LRPModel;
  nLayers: number;
  presets: PresetInfo[];
}

export interface SegmentBarsConfig {
  width: number;
  barHeight?: number;
}

export function presetLabel(name: string | null | undefined, presets: PresetInfo[]): string {
  if (!name || name === "custom") return "custom";
  const p = presets.find((q) => q.name === name);
  if (!p) return name;
  // Two presets share a label in Table 1; keep the buttons and bars distinguishable.
  return presets.filter((q) => q.label === p.label).length > 1 && name === "alpha-beta" ? "LRP-αβ" : p.label;
}

export function drawSegmentBars(svg: Svg, data: SegmentBarsData, config: SegmentBarsConfig): void {
  const barH = config.barHeight ?? 16;
  const gap = 2;
  const labelW = 64;
  const w = config.width;
  const span = Math.max(1, data.nLayers);
  const segs = data.model.segments;
  svg.attr("width", w).attr("height", segs.length * (barH + gap)).attr("class", "segment-bars");
  const rows = svg
    .selectAll<SVGGElement, (typeof segs)[number]>("g.seg")
    .data(segs)
    .join("g")
    .attr("class", "seg")
    .attr("transform", (_, i) => `translate(0,${i * (barH + gap)})`);
  rows.selectAll("*").remove();
  const x = (layer: number) => labelW + (layer / span) * (w - labelW - 2);
  rows
    .append("text")
    .attr("class", "seg-range")
    .attr("x", 0)
    .attr("y", barH - 4)
    .text((s) => `${s.start}–${s.end}`);
  rows
    .append("rect")
    .attr("class", "seg-track")
    .attr("x", labelW)
    .attr("width", w - labelW - 2)
    .attr("height", barH);
  rows
    .append("rect")
    .attr("x", (s) => x(s.start))
    .attr("width", (s) => Math.max(2, x(s.end + 1) - x(s.start)))
    .attr("height", barH)
    .attr("rx", 2)
    .attr("fill", (_, i) => segmentColor(i));
  // Labels sit on their bar when it is wide enough, else beside it (left of the bar).
  const fits = (s: (typeof segs)[number]) => x(s.end + 1) - x(s.start) >= presetLabel(s.preset, data.presets).length * 5.5 + 6;
  rows
    .append("text")
    .attr("class", (s) => `seg-label${fits(s) ? "" : " outside"}`)
    .attr("x", (s) => (fits(s) ? (x(s.start) + x(s.end + 1)) / 2 : x(s.start) - 3))
    .attr("y", barH - 4)
    .attr("text-anchor", (s) => (fits(s) ? "middle" : "end"))
    .text((s) => presetLabel(s.preset, data.presets));
}
