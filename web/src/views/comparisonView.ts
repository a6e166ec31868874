// View E: comparison of the ticked models (columns) over rows of (image, class, start rule); each column
// header shows the model's segment bars and formulas, each row header its start rule; cells are heatmaps on a
// shared or per-cell scale.
import * as d3 from "d3";
import katex from "katex";
import { drawLegend } from "../draw/legend";
import { drawSegmentBars, presetLabel } from "../draw/segmentBars";
import { segmentColor } from "../draw/theme";
import { SHARED_SCALE_BASIS, SHARED_SCALE_NOTE, scaleOf, sharedScale } from "../lib/colormap";
import { clear, fmt, h } from "../lib/dom";
import { ruleLatex } from "../lib/formula";
import { ruleOf } from "../lib/segments";
import type { Actions } from "../state/actions";
import { changed, modelById, type State } from "../state/store";
import { saveBlob } from "../lib/export";
import { buildComparisonExport, gridMarkup, reportHtml } from "./comparisonExport";
import { exportButtons } from "./exportButtons";
import { heatmapFigure } from "./heatmapFigure";
import { modelLabel } from "./modelLabel";
import { MetricsActions } from "../state/metrics";
import { regionState } from "../state/region";
import { cellMetrics, freshMetrics, metricsControls, metricsRanking, metricsRow } from "./metricsRow";

const CELL = 150;

export function mountComparisonView(root: HTMLElement, actions: Actions): void {
  const { store, api } = actions;
  root.dataset.testid = "comparison-view";
  root.classList.add("panel");

  const addRow = h("button", { "data-testid": "add-compare-row", title: "add the current image, class and start rule as a row" }, "+ Add row: current image & class");
  addRow.addEventListener("click", () => actions.addCompareRow());
  const scaleSelect = h("select", { "data-testid": "scale-select", title: "colour scale of the cells" });
  scaleSelect.append(
    h("option", { value: "cell" }, "per-cell scale"),
    h("option", { value: "shared" }, "shared scale"),
    h("option", { value: "logit", title: "each cell divided by its row's logit, then one shared scale" }, "shared scale, ÷ logit"),
  );
  scaleSelect.addEventListener("change", () => actions.setSharedScale(scaleSelect.value !== "cell", scaleSelect.value === "logit"));
  const run = h("button", { "data-testid": "run-compare", title: "recompute the comparison" }, "↻ Compare");
  run.addEventListener("click", () => void actions.runCompare());
  const status = h("span", { class: "hint", "data-testid": "compare-status" });
  const legend = d3.create("svg");
  const table = h("table", { class: "compare", "data-testid": "compare-table" });
  const metrics = new MetricsActions(actions);
  const ranking = h("div");

  const built = () => buildComparisonExport(store.get(), (id) => api.imageUrl(id), metrics.state);
  const exportName = () => `comparison-${new Date().toISOString().slice(0, 16).replace(":", "")}`;
  const gridButtons = exportButtons(exportName, async () => {
    const b = await built();
    return b && gridMarkup(b.grid);
  }, (err) => actions.reportError(err), "comparison grid");
  const reportBtn = h("button", { class: "export", "data-testid": "export-report", title: "download a self-contained HTML report of this comparison (models, formulas, heatmaps, metrics)" }, "⤓ Report");
  reportBtn.addEventListener("click", async () => {
    try {
      const b = await built();
      if (!b) throw new Error("nothing to report yet: add a row and tick models first");
      saveBlob(`${exportName()}.html`, new Blob([reportHtml(b.report)], { type: "text/html" }));
    } catch (err) {
      actions.reportError(err);
    }
  });
  const exports = h("span", { class: "export-buttons", "data-testid": "compare-exports" }, gridButtons, reportBtn);

  root.append(
    h("h2", {}, "E · Comparison"),
    h("div", { class: "row" }, addRow, scaleSelect, run, status, legend.node()!, exports),
    h("div", { class: "row" }, metricsControls(actions, metrics)),
    table,
    ranking,
  );

  function render(s: State): void {
    clear(table);
    clear(ranking);
    const measured = freshMetrics(s, metrics);
    scaleSelect.value = s.compareLogit ? "logit" : s.sharedScale ? "shared" : "cell";
    const info = s.info;
    const lut = info?.colormaps.find((c) => c.name === s.colormap)?.lut;
    const models = s.compareIds.map((id) => ({ id, model: modelById(s, id) })).filter((m) => m.model);
    status.textContent = !models.length
      ? "Tick models in the manager (A) to compare them."
      : !s.compareRows.length
        ? "Pick an image and a class in (B), then add a row."
        : `${s.compareRows.length} row(s) × ${models.length} model(s)`;
    legend.selectAll("*").remove();
    legend.attr("width", 0).attr("height", 0);
    for (const b of exports.querySelectorAll("button")) b.disabled = true;
    if (!info || !lut || !models.length) return;

    // Header: one column per model with its segment bars and formulas.
    const head = h("tr", {}, h("th", {}, "image · class"));
    for (const { model } of models) {
      const bars = d3.create("svg");
      drawSegmentBars(bars, { model: model!, nLayers: info.n_layers, presets: info.presets }, { width: CELL, barHeight: 12 });
      const formulas = h("div", { class: "col-formulas" });
      model!.segments.forEach((seg, k) => {
        const line = h("div", { class: "col-formula", title: `S${k + 1}: ${presetLabel(seg.preset, info.presets)}, layers ${seg.start}–${seg.end}` });
        line.style.borderLeftColor = segmentColor(k);
        katex.render(ruleLatex(ruleOf(seg)), line, { throwOnError: false });
        formulas.append(line);
      });
      const label = modelLabel(s, model);
      head.append(
        h(
          "th",
          { "data-testid": "compare-column", "data-draft": label.draft ? "1" : null },
          h("div", { class: "col-name" }, label.name),
          label.draft ? h("div", { class: "col-draft", "data-testid": "column-draft" }, `draft: ${label.draft}`) : null,
          bars.node()!,
          formulas,
        ),
      );
    }
    table.append(h("thead", {}, head));

    const result = s.compare;
    const fresh =
      result &&
      result.rows.length === s.compareRows.length &&
      result.rows.every((r, i) => r.image_id === s.compareRows[i].imageId && r.class_index === s.compareRows[i].classIndex ) &&
      s.compareModels.length === models.length &&
      s.compareModels.every((m, i) => JSON.stringify(m) === JSON.stringify(models[i].model));
    const cells = fresh ? result.cells : [];
    for (const b of exports.querySelectorAll("button")) b.disabled = !cells.length;
    // The shared scale is the largest of the cells' own scales, so no cell saturates; cells far below
    // it are marked faint with their factor.
    // ÷ logit: each cell as R / its row's logit, so rows of different classes and images compare too.
    const divisor = (c: (typeof cells)[number]) => (s.compareLogit && result ? Math.abs(result.rows[c.row]?.score ?? 1) || 1 : 1);
    const shared = sharedScale(cells.map((c) => c.heatmap), cells.map(divisor));
    if (fresh && s.sharedScale && cells.length) {
      if (s.compareLogit) drawLegend(legend, { lut, scale: 100 * shared.scale, caption: `% of the row's logit (${SHARED_SCALE_BASIS})` }, { width: 320 });
      else drawLegend(legend, { lut, scale: shared.scale, caption: `shared scale (${SHARED_SCALE_BASIS})` }, { width: 320 });
      legend.attr("data-testid", "shared-legend").attr("data-scale", shared.scale).append("title").text(SHARED_SCALE_NOTE);
    }

    const tbody = h("tbody");
    s.compareRows.forEach((row, i) => {
      const del = h("button", { class: "icon", title: "remove this row" }, "✕");
      del.addEventListener("click", () => actions.removeCompareRow(i));
      const thumb = h("img", { src: api.imageUrl(row.imageId), width: 72, height: 72, alt: row.source });
      const start = h("div", { class: "start", "data-testid": "compare-row-start", title: "the start rule: what this row's heatmaps explain" }, `start: ${row.startCaption}`);
      const tr = h("tr", { "data-testid": "compare-row", "data-start": row.start }, h("th", {}, thumb, h("div", {}, `${row.source}`), h("div", { class: "cls" }, `“${row.label}”`), start, del));
      models.forEach((_, j) => {
        const cell = cells.find((c) => c.row === i && c.column === j);
        const td = h("td", { "data-testid": "compare-cell" });
        if (cell) {
          const over = s.sharedScale ? shared.exceeds[cells.indexOf(cell)] : null;
          const under = s.sharedScale ? shared.faint[cells.indexOf(cell)] : null;
          const scale = s.sharedScale ? shared.scale * divisor(cell) : scaleOf(cell.heatmap);
          td.append(heatmapFigure(cell.heatmap, lut, { size: CELL, scale, legend: !s.sharedScale, caption: `ΣR = ${fmt(cell.heatmap.total)}` }));
          if (over != null) {
            td.classList.add("exceeds");
            td.dataset.exceeds = over.toPrecision(3);
            td.append(
              h(
                "div",
                { class: "exceeds-badge", "data-testid": "exceeds-scale", title: `this cell's own scale (${fmt(scaleOf(cell.heatmap))}) is ${fmt(over)}× the shared one: its strongest values saturate` },
                `▲ ${fmt(over, 2)}× shared scale`,
              ),
            );
          }
          if (under != null) {
            td.append(
              h(
                "div",
                { class: "faint-badge", "data-testid": "faint-scale", title: `this cell's own scale (${fmt(scaleOf(cell.heatmap))}) is ${fmt(under)}× the shared one: it looks almost blank` },
                `▽ ${fmt(under, 2)}× shared scale (faint)`,
              ),
            );
          }
          const hover = measured && cellMetrics(measured, i, j);
          if (hover) td.append(hover);
          td.dataset.ready = "1";
        } else {
          td.append(h("div", { class: "pending" }, "…"));
        }
        tr.append(td);
      });
      tbody.append(tr);
    });
    table.append(tbody);
    if (measured) {
      table.append(h("tfoot", {}, metricsRow(s, measured, models.length)));
      ranking.append(metricsRanking(s, measured, models.map(({ model }) => modelLabel(s, model).name)));
    }
  }

  metrics.subscribe(() => render(store.get()));
  regionState.subscribe(() => {
    if (metrics.state.result) render(store.get()); // a new region makes the localisation numbers stale
  });
  store.subscribe((s, p) => {
    if (changed(s, p, "compare", "compareRows", "compareIds", "sharedScale", "compareLogit", "colormap", "info", "models", "drafts")) render(s);
    // Edits to a compared model's draft recompute the comparison.
    if (changed(s, p, "drafts") && s.compareIds.some((id) => s.drafts[id] !== p.drafts[id])) actions.scheduleCompare(400);
  });
}
