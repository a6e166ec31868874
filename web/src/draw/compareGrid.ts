// The comparison grid as one standalone SVG (for export): model columns with their names, draft note
// and one rule line per segment; rows of (image, class); cells as embedded pictures with a caption.
// Every text is fitted to its column by its measured width (wrapped or cut with "…", the full text as
// its <title>), so no text runs into the next column.
import type { Selection } from "d3";
import type { Lut } from "../lib/colormap";
import { fmt } from "../lib/dom";
import { FONT_FAMILY, fitLines, type Measure, textMeasure } from "../lib/export";
import type { Svg } from "./types";

export interface GridColumn {
  name: string;
  draft: string | null;
  /** One line per segment: its colour and "S1 0–46 LRP-flat". */
  lines: { color: string; text: string }[];
}

export interface GridRow {
  image: string;
  source: string;
  label: string;
}

export interface GridCell {
  row: number;
  column: number;
  /** A data URL of the cell's picture (with its legend when the scale is per cell). */
  image: string;
  height: number;
  caption: string;
  badge: string | null;
}

export interface GridData {
  title: string;
  columns: GridColumn[];
  rows: GridRow[];
  cells: GridCell[];
  /** `note`: what the scale is, the legend's tooltip. */
  legend: { lut: Lut; scale: number; caption: string; note?: string } | null;
}

const PAD = 10;
const ROW_HEAD = 120;
const LINE = 14;
/** Lines a column's name may take before it is cut with "…" (the full name is its <title>). */
const NAME_LINES = 2;
/** Pixels kept free between a column's text and the next column. */
const GAP = 8;

type G = Selection<SVGGElement, undefined, null, undefined>;

/**
 * A text fitted into `width` pixels (wrapped into at most `maxLines` lines, the last cut with "…") as a
 * <text> in a group whose <title> holds the full text: a tooltip, and the words a reader of the file
 * finds. Returns the group.
 */
function fittedText(parent: G | Svg, text: string, at: { x: number; y: number; width: number; maxLines: number; measure: Measure }): G {
  const { lines } = fitLines(text, at.width, at.measure, at.maxLines);
  const g: G = (parent as G).append("g");
  g.append("title").text(text);
  const t = g.append("text").attr("x", at.x).attr("y", at.y);
  // One line is the text itself; more are <tspan>s, each starting again at x.
  if (lines.length === 1) t.text(lines[0]);
  else lines.forEach((line, i) => t.append("tspan").attr("x", at.x).attr("dy", i ? LINE : 0).text(line));
  return g;
}

export function drawCompareGrid(svg: Svg, data: GridData, config: { cell: number }): void {
  const colW = config.cell + 16;
  const textW = colW - GAP;
  const bold12 = textMeasure(`600 12px ${FONT_FAMILY}`);
  const bold14 = textMeasure(`600 14px ${FONT_FAMILY}`);
  const plain11 = textMeasure(`11px ${FONT_FAMILY}`);
  const bold11 = textMeasure(`600 11px ${FONT_FAMILY}`);
  const nameLines = Math.max(1, ...data.columns.map((c) => fitLines(c.name, textW, bold12, NAME_LINES).lines.length));
  const nLines = Math.max(1, ...data.columns.map((c) => c.lines.length + (c.draft ? 1 : 0)));
  const width = PAD * 2 + ROW_HEAD + colW * data.columns.length;
  const titleLines = Math.max(1, fitLines(data.title, width - 2 * PAD, bold14, 3).lines.length);
  const legendY = PAD + 18 * titleLines + 6;
  const top = legendY + (data.legend ? 44 : 0);
  const headH = nameLines * LINE + 4 + nLines * LINE + 6;
  // A badge ("▽ 0.05× shared scale (faint)") may take a second line within its column.
  const rowH = Math.max(104, ...data.cells.map((c) => c.height + 30 + (c.badge ? LINE : 0))) + 8;
  const height = top + headH + rowH * data.rows.length + PAD;
  svg.selectAll("*").remove();
  svg.attr("xmlns", "http://www.w3.org/2000/svg").attr("width", width).attr("height", height).attr("viewBox", `0 0 ${width} ${height}`);
  svg.style("font-family", FONT_FAMILY).style("font-size", "11px");
  svg.append("rect").attr("width", width).attr("height", height).attr("fill", "#fff");
  const title = fittedText(svg, data.title, { x: PAD, y: PAD + 13, width: width - 2 * PAD, maxLines: 3, measure: bold14 });
  title.select("text").attr("font-size", 14).attr("font-weight", 600).attr("fill", "#1f2933").selectAll("tspan").attr("dy", (_, i) => (i ? 18 : 0));

  if (data.legend) {
    const { lut, scale, caption, note } = data.legend;
    const id = "grid-legend";
    const lg = svg.append("g").attr("data-testid", "grid-legend");
    if (note) lg.append("title").text(note);
    const grad = lg.append("defs").append("linearGradient").attr("id", id);
    for (let i = 0; i <= 16; i++) {
      const c = lut[Math.round((i / 16) * (lut.length - 1))];
      grad.append("stop").attr("offset", `${(i / 16) * 100}%`).attr("stop-color", `rgb(${c[0]},${c[1]},${c[2]})`);
    }
    const y = legendY;
    const w = Math.min(300, width - 2 * PAD);
    lg.append("rect").attr("x", PAD).attr("y", y).attr("width", w).attr("height", 10).attr("fill", `url(#${id})`).attr("stroke", "#999");
    // The numbers under the bar's ends, what the scale is on a line of its own below (never overlapping them).
    const labels: [number, number, string, string][] = [
      [PAD, y + 23, `−${fmt(scale)}`, "start"],
      [PAD + w, y + 23, `+${fmt(scale)}`, "end"],
      [PAD + w / 2, y + 37, caption, "middle"],
    ];
    for (const [x, ty, text, anchor] of labels) lg.append("text").attr("x", x).attr("y", ty).attr("text-anchor", anchor).attr("fill", "#6b7785").text(text);
  }

  const head = svg.append("g").attr("transform", `translate(${PAD + ROW_HEAD},${top})`);
  data.columns.forEach((col, j) => {
    const g = head.append("g").attr("transform", `translate(${j * colW},0)`).attr("data-testid", "grid-column");
    fittedText(g, col.name, { x: 0, y: LINE, width: textW, maxLines: NAME_LINES, measure: bold12 })
      .attr("data-testid", "grid-column-title")
      .select("text")
      .attr("font-weight", 600)
      .attr("font-size", 12)
      .attr("fill", "#1f2933");
    let y = nameLines * LINE + 4;
    if (col.draft) {
      y += LINE;
      fittedText(g, `draft: ${col.draft}`, { x: 0, y: y - 3, width: textW, maxLines: 1, measure: plain11 }).select("text").attr("fill", "#8a5a00");
    }
    for (const line of col.lines) {
      y += LINE;
      g.append("rect").attr("x", 0).attr("y", y - 12).attr("width", 3).attr("height", 11).attr("fill", line.color);
      fittedText(g, line.text, { x: 6, y: y - 3, width: textW - 6, maxLines: 1, measure: plain11 }).select("text").attr("fill", "#394b59");
    }
  });

  const body = svg.append("g").attr("transform", `translate(${PAD},${top + headH})`);
  data.rows.forEach((row, i) => {
    const g = body.append("g").attr("transform", `translate(0,${i * rowH})`);
    g.append("line").attr("x1", 0).attr("x2", width - 2 * PAD).attr("y1", -4).attr("y2", -4).attr("stroke", "#dde1e6");
    g.append("image").attr("xlink:href", row.image).attr("width", 72).attr("height", 72);
    fittedText(g, row.source, { x: 0, y: 86, width: ROW_HEAD - GAP, maxLines: 1, measure: plain11 }).select("text").attr("fill", "#1f2933");
    fittedText(g, `“${row.label}”`, { x: 0, y: 100, width: ROW_HEAD - GAP, maxLines: 1, measure: bold11 })
      .select("text")
      .attr("font-weight", 600)
      .attr("fill", "#1f2933");
  });
  for (const cell of data.cells) {
    const g = body.append("g").attr("transform", `translate(${ROW_HEAD + cell.column * colW},${cell.row * rowH})`).attr("data-cell", `${cell.row},${cell.column}`);
    g.append("image").attr("xlink:href", cell.image).attr("width", config.cell).attr("height", cell.height).attr("style", "image-rendering:pixelated");
    fittedText(g, cell.caption, { x: 0, y: cell.height + 12, width: textW, maxLines: 1, measure: plain11 }).select("text").attr("fill", "#6b7785");
    if (cell.badge) {
      fittedText(g, cell.badge, { x: 0, y: cell.height + 25, width: textW, maxLines: 2, measure: bold11 })
        .attr("data-testid", "grid-badge")
        .select("text")
        .attr("fill", "#a34d00")
        .attr("font-weight", 600);
    }
  }
}
