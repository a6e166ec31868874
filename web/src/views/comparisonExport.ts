// What the comparison's exports contain, built from the comparison that is on screen: the grid as one
// SVG (PNG/SVG buttons) and the self-contained HTML report.
import * as d3 from "d3";
import { drawCompareGrid, type GridData } from "../draw/compareGrid";
import { presetLabel } from "../draw/segmentBars";
import { segmentColor } from "../draw/theme";
import { type Lut, paint, SHARED_SCALE_BASIS, SHARED_SCALE_NOTE, scaleOf, sharedScale } from "../lib/colormap";
import { fmt } from "../lib/dom";
import { heatmapCanvas, imageDataUrl } from "../lib/export";
import { ruleLatex } from "../lib/formula";
import { type ReportData, type ReportSuite, buildReport } from "../lib/report";
import { type MetricsState, metricLabel, metricsKey, metricsModels } from "../state/metrics";
import { ruleOf, ruleSummary } from "../lib/segments";
import type { State } from "../state/store";
import { modelLabel } from "./modelLabel";

const CELL = 150;

/** A cell picture: with its own legend on a per-cell scale, plain (upscaled) on the shared one. */
function cellPicture(h: Parameters<typeof paint>[1], lut: Lut, scale: number, legend: boolean): { url: string; height: number } {
  if (legend) {
    const c = heatmapCanvas(h, lut, scale, { size: CELL - 16 }); // CELL wide with its margins
    return { url: c.toDataURL("image/png"), height: Math.round((CELL * c.height) / c.width) };
  }
  const src = document.createElement("canvas");
  paint(src, h, lut, scale);
  const out = document.createElement("canvas");
  out.width = CELL;
  out.height = h.kind === "map" ? CELL : 64;
  const ctx = out.getContext("2d")!;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(src, 0, 0, out.width, out.height);
  return { url: out.toDataURL("image/png"), height: out.height };
}

interface Built {
  grid: GridData;
  report: ReportData;
}

/** The suite's means for the report, only when the result belongs to exactly these rows, models and fill. */
function suiteFor(s: State, m: MetricsState | null): ReportSuite | null {
  if (!m?.result || m.fill === null || m.key !== metricsKey(s, m.fill)) return null;
  const models = metricsModels(s);
  if (!models || JSON.stringify(models) !== JSON.stringify(s.compareModels)) return null; // drafts since the run
  const res = m.result;
  return {
    fill: m.fill,
    metrics: res.metrics.map((info) => {
      const means = s.compareModels.map((_, j) => res.summary.find((x) => x.metric === info.name && x.model_index === j)?.mean ?? null);
      return {
        label: metricLabel(s, info.name),
        higherIsBetter: info.higher_is_better,
        means,
        best: info.ranking.length && means[info.ranking[0]] != null ? info.ranking[0] : null,
      };
    }),
  };
}

/** Null while no comparison result is on screen. ``suite``: the comparison's metrics, if measured. */
export async function buildComparisonExport(s: State, imageUrl: (id: string) => string, suite: MetricsState | null = null): Promise<Built | null> {
  const res = s.compare;
  const info = s.info;
  const lut = info?.colormaps.find((c) => c.name === s.colormap)?.lut;
  if (!res || !info || !lut || !res.cells.length || !s.compareModels.length) return null;
  const label = (p: string | null | undefined) => presetLabel(p, info.presets);
  const divisor = (row: number) => (s.compareLogit ? Math.abs(res.rows[row]?.score ?? 1) || 1 : 1);
  const shared = sharedScale(res.cells.map((c) => c.heatmap), res.cells.map((c) => divisor(c.row)));
  const pictures = res.cells.map((c, i) => {
    const scale = s.sharedScale ? shared.scale * divisor(c.row) : scaleOf(c.heatmap);
    const pic = cellPicture(c.heatmap, lut, scale, !s.sharedScale);
    const over = s.sharedScale ? shared.exceeds[i] : null;
    const under = s.sharedScale ? shared.faint[i] : null;
    const badge = over != null ? `▲ ${fmt(over, 2)}× shared scale` : under != null ? `▽ ${fmt(under, 2)}× shared scale (faint)` : null;
    return { row: c.row, column: c.column, image: pic.url, height: pic.height, caption: `ΣR = ${fmt(c.heatmap.total)}`, badge, total: c.heatmap.total };
  });
  const sources = new Map(s.compareRows.map((r) => [r.imageId, r.source]));
  const thumbs = await Promise.all(res.rows.map((r) => imageDataUrl(imageUrl(r.image_id))));
  const labels = s.compareModels.map((m) => modelLabel(s, m));
  const title = `Comparison of ${s.compareModels.length} LRP model(s) on ${res.rows.length} (image, class) row(s)`;
  const scaleText = s.compareLogit
    ? `shared colour scale ±${fmt(100 * shared.scale)} % of each row's logit (${SHARED_SCALE_BASIS}; ${SHARED_SCALE_NOTE})`
    : s.sharedScale
      ? `shared colour scale ±${fmt(shared.scale)} (${SHARED_SCALE_BASIS}; ${SHARED_SCALE_NOTE})`
      : "one colour scale per cell (99.5th percentile of |R|)";

  const grid: GridData = {
    title,
    columns: s.compareModels.map((m, j) => ({
      name: labels[j].name,
      draft: labels[j].draft,
      lines: m.segments.map((seg, k) => ({ color: segmentColor(k), text: `S${k + 1} ${seg.start}–${seg.end} ${ruleSummary(seg, label)}` })),
    })),
    rows: res.rows.map((r, i) => ({ image: thumbs[i], source: sources.get(r.image_id) ?? r.image_id, label: r.label })),
    cells: pictures,
    legend: s.compareLogit
      ? { lut, scale: 100 * shared.scale, caption: `% of the row's logit (${SHARED_SCALE_BASIS})`, note: SHARED_SCALE_NOTE }
      : s.sharedScale
        ? { lut, scale: shared.scale, caption: `shared scale (${SHARED_SCALE_BASIS})`, note: SHARED_SCALE_NOTE }
        : null,
  };

  // Metrics that were measured for a compared model, image and class: the flipping curves' AOPC.
  const metrics: string[] = [];
  const fc = s.flipCurve;
  if (fc && s.explainModel && s.image) {
    const j = s.compareModels.findIndex((m) => JSON.stringify(m) === JSON.stringify(s.explainModel));
    const i = res.rows.findIndex((r) => r.image_id === s.image!.image_id && r.class_index === fc.class_index);
    if (j >= 0 && i >= 0)
      metrics.push(
        `Pixel flipping of “${labels[j].name}” on ${grid.rows[i].source} / “${fc.label}” (${fc.steps} steps, ${fc.patch}×${fc.patch} patches, ${fc.mode} fill): ` +
          fc.curves.map((c) => `AOPC ${c.order} ${fmt(c.aopc)}`).join(", "),
      );
  }
  metrics.push(`Computed in ${Math.round(res.elapsed_ms)} ms on ${info.network}.`);

  const report: ReportData = {
    title,
    network: `${info.network} (${info.n_layers} layers)`,
    colormap: s.colormap,
    scale: scaleText,
    generated: new Date().toISOString().replace("T", " ").slice(0, 16) + " UTC",
    columns: s.compareModels.map((m, j) => ({
      name: labels[j].name,
      draft: labels[j].draft,
      includeBias: m.include_bias,
      inputRule: m.input_rule ? "ZBox (pixel bounds)" : "none (the first segment's rule)",
      segments: m.segments.map((seg, k) => ({ range: `S${k + 1}: layers ${seg.start}–${seg.end}`, rule: ruleSummary(seg, label), color: segmentColor(k), latex: ruleLatex(ruleOf(seg)) })),
      warnings: res.warnings[j] ?? [],
    })),
    rows: res.rows.map((r, i) => ({ image: thumbs[i], source: grid.rows[i].source, label: r.label, classIndex: r.class_index, score: r.score })),
    cells: pictures.map((p) => ({ row: p.row, column: p.column, image: p.image, total: p.total, badge: p.badge })),
    metrics,
    suite: suiteFor(s, suite),
  };
  return { grid, report };
}

export function gridMarkup(grid: GridData): string {
  const svg = d3.create("svg");
  drawCompareGrid(svg, grid, { cell: CELL });
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(svg.node()!)}`;
}

export function reportHtml(report: ReportData): string {
  return buildReport(report);
}
