// The comparison grid as one standalone SVG (for export): model columns with their names, draft note
// and one rule line per segment; rows of (image, class); cells as embedded pictures with a caption.
import type { Lut } from "../lib/colormap";
import { fmt } from "../lib/dom";
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
  legend: { lut: Lut; scale: number; caption: string } | null;
}

const PAD = 10;
const ROW_HEAD = 120;
const LINE = 14;

function clip(text: string, chars: number): string {
  return text.length > chars ? `${text.slice(0, chars - 1)}…` : text;
}

export function drawCompareGrid(svg: Svg, data: GridData, config: { cell: number }): void {
  const colW = config.cell + 16;
  const chars = Math.floor(colW / 6.2);
  const nLines = Math.max(1, ...data.columns.map((c) => c.lines.length + (c.draft ? 1 : 0)));
  const top = PAD + 22 + (data.legend ? 34 : 0);
  const headH = LINE + 4 + nLines * LINE + 6;
  const rowH = Math.max(104, ...data.cells.map((c) => c.height + 30)) + 8;
  const width = PAD * 2 + ROW_HEAD + colW * data.columns.length;
  const height = top + headH + rowH * data.rows.length + PAD;
  svg.selectAll("*").remove();
  svg.attr("xmlns", "http://www.w3.org/2000/svg").attr("width", width).attr("height", height).attr("viewBox", `0 0 ${width} ${height}`);
  svg.style("font-family", "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif").style("font-size", "11px");
  svg.append("rect").attr("width", width).attr("height", height).attr("fill", "#fff");
  svg.append("text").attr("x", PAD).attr("y", PAD + 13).attr("font-size", 14).attr("font-weight", 600).attr("fill", "#1f2933").text(data.title);

  if (data.legend) {
    const { lut, scale, caption } = data.legend;
    const id = "grid-legend";
    const grad = svg.append("defs").append("linearGradient").attr("id", id);
    for (let i = 0; i <= 16; i++) {
      const c = lut[Math.round((i / 16) * (lut.length - 1))];
      grad.append("stop").attr("offset", `${(i / 16) * 100}%`).attr("stop-color", `rgb(${c[0]},${c[1]},${c[2]})`);
    }
    const y = PAD + 24;
    const w = 300;
    svg.append("rect").attr("x", PAD).attr("y", y).attr("width", w).attr("height", 10).attr("fill", `url(#${id})`).attr("stroke", "#999");
    const labels: [number, string, string][] = [
      [PAD, `−${fmt(scale)}`, "start"],
      [PAD + w / 2, caption, "middle"],
      [PAD + w, `+${fmt(scale)}`, "end"],
    ];
    for (const [x, text, anchor] of labels) svg.append("text").attr("x", x).attr("y", y + 23).attr("text-anchor", anchor).attr("fill", "#6b7785").text(text);
  }

  const head = svg.append("g").attr("transform", `translate(${PAD + ROW_HEAD},${top})`);
  data.columns.forEach((col, j) => {
    const g = head.append("g").attr("transform", `translate(${j * colW},0)`);
    g.append("text").attr("y", LINE).attr("font-weight", 600).attr("font-size", 12).attr("fill", "#1f2933").text(clip(col.name, Math.floor(colW / 7.6)));
    let y = LINE + 4;
    if (col.draft) {
      y += LINE;
      g.append("text").attr("y", y - 3).attr("fill", "#8a5a00").text(clip(`draft: ${col.draft}`, chars));
    }
    for (const line of col.lines) {
      y += LINE;
      g.append("rect").attr("x", 0).attr("y", y - 12).attr("width", 3).attr("height", 11).attr("fill", line.color);
      g.append("text").attr("x", 6).attr("y", y - 3).attr("fill", "#394b59").text(clip(line.text, chars - 1));
    }
  });

  const body = svg.append("g").attr("transform", `translate(${PAD},${top + headH})`);
  data.rows.forEach((row, i) => {
    const g = body.append("g").attr("transform", `translate(0,${i * rowH})`);
    g.append("line").attr("x1", 0).attr("x2", width - 2 * PAD).attr("y1", -4).attr("y2", -4).attr("stroke", "#dde1e6");
    g.append("image").attr("xlink:href", row.image).attr("width", 72).attr("height", 72);
    g.append("text").attr("y", 86).attr("fill", "#1f2933").text(clip(row.source, 19));
    g.append("text").attr("y", 100).attr("font-weight", 600).attr("fill", "#1f2933").text(clip(`“${row.label}”`, 19));
  });
  for (const cell of data.cells) {
    const g = body.append("g").attr("transform", `translate(${ROW_HEAD + cell.column * colW},${cell.row * rowH})`).attr("data-cell", `${cell.row},${cell.column}`);
    g.append("image").attr("xlink:href", cell.image).attr("width", config.cell).attr("height", cell.height).attr("style", "image-rendering:pixelated");
    g.append("text").attr("y", cell.height + 12).attr("fill", "#6b7785").text(cell.caption);
    if (cell.badge) g.append("text").attr("y", cell.height + 25).attr("fill", "#a34d00").attr("font-weight", 600).text(cell.badge);
  }
}
