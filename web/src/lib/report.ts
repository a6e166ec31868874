// A self-contained HTML report of a comparison: the models with their rules and formulas (MathML, so no
// style sheet or font is needed), the rows, every heatmap as an embedded PNG with its legend, and the
// numbers that go with them. One file that opens anywhere, offline.
import katex from "katex";
import { formatNumber } from "./numbers";

export interface ReportSegment {
  range: string;
  rule: string;
  color: string;
  latex: string;
}

export interface ReportColumn {
  name: string;
  draft: string | null;
  includeBias: boolean;
  inputRule: string;
  segments: ReportSegment[];
  warnings: string[];
}

export interface ReportRow {
  image: string;
  source: string;
  label: string;
  classIndex: number;
  score: number;
}

export interface ReportCell {
  row: number;
  column: number;
  image: string;
  total: number;
  badge: string | null;
}

/** The metrics suite's means per model (columns), when they were measured for exactly this comparison. */
export interface ReportSuite {
  fill: string;
  metrics: { label: string; higherIsBetter: boolean; means: (number | null)[]; best: number | null }[];
}

export interface ReportData {
  title: string;
  network: string;
  colormap: string;
  scale: string;
  generated: string;
  columns: ReportColumn[];
  rows: ReportRow[];
  cells: ReportCell[];
  /** Extra measurements when present (e.g. AOPC of the flipping curves), one line each. */
  metrics: string[];
  suite: ReportSuite | null;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function num(x: number): string {
  return formatNumber(x, 4);
}

const STYLE = `
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2933; margin: 24px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.meta { color: #6b7785; margin: 0 0 12px; }
table { border-collapse: collapse; } th, td { border: 1px solid #dde1e6; padding: 6px; vertical-align: top; text-align: left; }
.seg { border-left: 4px solid; padding-left: 6px; margin: 4px 0; }
.draft { color: #8a5a00; } .warn { color: #8a5a00; font-size: 12px; } .badge { color: #a34d00; font-weight: 600; font-size: 12px; }
.cap { color: #6b7785; font-size: 12px; } img.cell { image-rendering: pixelated; display: block; }
td.best { font-weight: 600; background: #fff6d6; }
`;

export function buildReport(d: ReportData): string {
  const e = escapeHtml;
  const models = d.columns
    .map((c, j) => {
      const segs = c.segments
        .map(
          (s) =>
            `<div class="seg" style="border-left-color:${e(s.color)}"><b>${e(s.range)}</b> · ${e(s.rule)}<br>${katex.renderToString(s.latex, { output: "mathml", throwOnError: false, displayMode: true })}</div>`,
        )
        .join("");
      const warn = c.warnings.map((w) => `<div class="warn">⚠ ${e(w)}</div>`).join("");
      return `<section class="model" data-column="${j}"><h3>${j + 1}. ${e(c.name)}</h3>${c.draft ? `<p class="draft">unsaved draft: ${e(c.draft)}</p>` : ""}<p class="meta">bias ${c.includeBias ? "included" : "excluded"} · input rule: ${e(c.inputRule)}</p>${segs}${warn}</section>`;
    })
    .join("");
  const head = `<tr><th>image · class</th>${d.columns.map((c) => `<th>${e(c.name)}</th>`).join("")}</tr>`;
  const body = d.rows
    .map((r, i) => {
      const cells = d.columns
        .map((_, j) => {
          const cell = d.cells.find((c) => c.row === i && c.column === j);
          if (!cell) return "<td>—</td>";
          const share = r.score !== 0 ? ` (${num((100 * cell.total) / r.score)} % of the score)` : "";
          return `<td><img class="cell" src="${cell.image}" alt="heatmap of ${e(d.columns[j].name)} for ${e(r.label)}"><div class="cap">ΣR = ${num(cell.total)}${share}</div>${cell.badge ? `<div class="badge">${e(cell.badge)}</div>` : ""}</td>`;
        })
        .join("");
      return `<tr><th><img src="${r.image}" width="96" height="96" alt="${e(r.source)}"><div>${e(r.source)}</div><div><b>“${e(r.label)}”</b> (class ${r.classIndex})</div><div class="cap">score ${num(r.score)}</div></th>${cells}</tr>`;
    })
    .join("");
  const suite = d.suite
    ? `<table class="suite"><thead><tr><th>metric (mean over the rows; ${e(d.suite.fill)} fill)</th>${d.columns.map((c) => `<th>${e(c.name)}</th>`).join("")}</tr></thead><tbody>${d.suite.metrics
        .map(
          (m) =>
            `<tr><th>${e(m.label)} ${m.higherIsBetter ? "↑" : "↓"}</th>${m.means
              .map((v, j) => `<td${j === m.best ? ' class="best"' : ""}>${v == null ? "—" : num(v)}${j === m.best ? " ★" : ""}</td>`)
              .join("")}</tr>`,
        )
        .join("")}</tbody></table><p class="cap">↑ higher is better, ↓ lower is better; ★ the best model per metric. Definitions: docs/metrics.md.</p>`
    : "";
  const metrics = d.metrics.length || suite ? `<h2>Metrics</h2>${suite}<ul>${d.metrics.map((m) => `<li>${e(m)}</li>`).join("")}</ul>` : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${e(d.title)}</title><style>${STYLE}</style></head>
<body>
<h1>${e(d.title)}</h1>
<p class="meta">${e(d.network)} · colour map ${e(d.colormap)} · ${e(d.scale)} · generated ${e(d.generated)} by the vislrp designer</p>
<h2>Models</h2>${models}
<h2>Heatmaps</h2><table><thead>${head}</thead><tbody>${body}</tbody></table>
${metrics}
</body></html>
`;
}
