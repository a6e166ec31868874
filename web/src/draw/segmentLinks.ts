// Lines from a hovered region of one segment's map to the cells of the next map (towards the input) that
// receive the largest shares of its relevance, as the engine computed them (POST /api/segment-links).
import type { LinkCell } from "../api/types";
import type { Svg } from "./types";

/** A map's canvas on the overlay, in the overlay's own pixels. */
export interface MapBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface SegmentLinksData {
  from: MapBox;
  to: MapBox;
  region: LinkCell;
  sources: LinkCell[];
}

export interface SegmentLinksConfig {
  width: number;
  height: number;
  color?: string;
}

function rect(box: MapBox, c: LinkCell): MapBox {
  return {
    x: box.x + c.left * box.width,
    y: box.y + c.top * box.height,
    width: (c.right - c.left) * box.width,
    height: (c.bottom - c.top) * box.height,
  };
}

/** Draw (or, with `data` null, clear) the links; each line carries its target cell and share as data attributes. */
export function drawSegmentLinks(svg: Svg, data: SegmentLinksData | null, config: SegmentLinksConfig): void {
  svg.selectAll("*").remove();
  svg.attr("width", config.width).attr("height", config.height);
  if (!data) return;
  const color = config.color ?? "#111";
  const from = rect(data.from, data.region);
  const fx = from.x + from.width / 2;
  const fy = from.y + from.height / 2;
  const top = Math.max(1e-12, ...data.sources.map((s) => s.share));
  svg
    .append("rect")
    .attr("data-testid", "segment-link-region")
    .attr("x", from.x)
    .attr("y", from.y)
    .attr("width", from.width)
    .attr("height", from.height)
    .attr("fill", "none")
    .attr("stroke", color)
    .attr("stroke-width", 2);
  const g = svg.append("g");
  data.sources.forEach((s, i) => {
    const r = rect(data.to, s);
    const tx = r.x + r.width / 2;
    const ty = r.y + r.height / 2;
    const link = g.append("g").attr("class", "segment-link");
    link
      .append("rect")
      .attr("x", r.x)
      .attr("y", r.y)
      .attr("width", r.width)
      .attr("height", r.height)
      .attr("fill", "none")
      .attr("stroke", color)
      .attr("stroke-dasharray", "2 2");
    link
      .append("line")
      .attr("data-testid", "segment-link")
      .attr("data-rank", i)
      .attr("data-row", s.row)
      .attr("data-col", s.col)
      .attr("data-share", s.share)
      .attr("x1", fx)
      .attr("y1", fy)
      .attr("x2", tx)
      .attr("y2", ty)
      .attr("stroke", color)
      .attr("stroke-opacity", 0.35 + 0.65 * (s.share / top))
      .attr("stroke-width", 1 + 4 * (s.share / top))
      .append("title")
      .text(`cell (${s.row}, ${s.col}): ${(100 * s.share).toFixed(1)} % of the region's relevance`);
  });
}
