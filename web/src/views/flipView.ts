// View F (the paper's V5): relevance-based pixel flipping. Rows of (image, heatmap) with a shared
// brush mask each, compared with the original prediction; and MoRF/LeRF/random curves with AOPC.
import * as d3 from "d3";
import type { FlipMode } from "../api/types";
import { drawLineChart } from "../draw/lineChart";
import { drawPredictionBars } from "../draw/predictionBars";
import { clear, fmt, h } from "../lib/dom";
import type { Actions } from "../state/actions";
import type { AnalysisActions, CurveFill } from "../state/analysisActions";
import { changed, type State } from "../state/store";
import { FlipRowWidget } from "./flipRow";
import { chartMarkup, exportButtons } from "./exportButtons";
import { modelLabel } from "./modelLabel";

const ORDER_COLORS: Record<string, string> = { morf: "#d62728", lerf: "#2f6fb0", random: "#7f7f7f" };
const ORDER_NAMES: Record<string, string> = { morf: "MoRF", lerf: "LeRF", random: "random" };

export function mountFlipView(root: HTMLElement, actions: Actions, analysis: AnalysisActions): void {
  const { store, api } = actions;
  root.dataset.testid = "flip-view";
  root.classList.add("panel");

  const mode = h("select", { "data-testid": "flip-mode", title: "what flipped pixels become" });
  mode.addEventListener("change", () => analysis.setFlipMode(mode.value as FlipMode));
  // Brush radius in image pixels, in half-pixel steps; the number box takes any value in range.
  const brush = h("input", { type: "range", min: 0.5, max: 40, step: 0.5, value: 8, "data-testid": "flip-brush", title: "brush radius (image pixels)" });
  const brushValue = h("input", { type: "number", min: 0.5, max: 40, step: 0.5, value: 8, class: "percent", "data-testid": "flip-brush-size", title: "brush radius in image pixels (0.5–40)" });
  brush.addEventListener("input", () => analysis.setBrush(Number(brush.value)));
  brushValue.addEventListener("change", () => {
    const v = Number(brushValue.value);
    if (Number.isFinite(v) && v >= 0.5 && v <= 40) analysis.setBrush(v);
    else brushValue.value = String(store.get().flipBrush);
  });
  const add = h("button", { "data-testid": "add-flip-row", title: "add a row for another flipping operation" }, "+ Add row");
  add.addEventListener("click", () => analysis.addFlipRow());
  const source = h("span", { class: "hint", "data-testid": "flip-source" });

  const originalSvg = d3.create("svg");
  const original = h("div", { class: "flip-original", "data-testid": "flip-original" }, h("h3", {}, "Original top-10"), originalSvg.node()!);
  const rowsBox = h("div", { class: "flip-rows" });

  const steps = h("input", { type: "number", min: 1, max: 100, value: 20, class: "percent", "data-testid": "curve-steps", title: "steps N" });
  const patch = h("select", { "data-testid": "curve-patch", title: "ranking unit" });
  for (const p of [1, 4, 8, 16]) patch.append(h("option", { value: p, selected: p === 8 }, p === 1 ? "pixels" : `${p}×${p} patches`));
  const runCurve = h("button", { class: "primary", "data-testid": "run-curve", title: "flip in relevance order and plot the class score" }, "Run curves");
  // The curves' fill: the view's flip mode, or ROAD's noisy linear imputation (curves and metrics only).
  const curveFill = h("select", { "data-testid": "curve-fill", title: "what flipped pixels become in the curves" });
  curveFill.append(h("option", { value: "" }, "fill: as the flips"));
  /** The server's fills, once /api/info lists them: the flips take those that do not depend on the mask, the
   * curves also the others (ROAD imputation). */
  const fillOptions = (s: State) => {
    if (mode.options.length || !s.info) return;
    for (const f of s.info.fills) {
      const option = () => h("option", { value: f.name, title: f.description }, f.per_mask ? `fill: ${f.label}` : f.label);
      (f.per_mask ? curveFill : mode).append(option());
    }
    mode.value = s.flipMode ?? "";
  };
  runCurve.addEventListener("click", () => void analysis.runCurve(Number(steps.value), Number(patch.value), (curveFill.value || undefined) as CurveFill | undefined));
  const curveSvg = d3.create("svg");
  const curveInfo = h("div", { class: "curve-info", "data-testid": "curve-aopc" });
  const curveBox = h(
    "div",
    { class: "flip-curve", "data-testid": "flip-curve" },
    h(
      "div",
      { class: "chart-head" },
      h("h3", {}, "Flipping curves of the active model's heatmap"),
      exportButtons(() => `flip-curves-${store.get().image?.source ?? ""}-${store.get().flipCurve?.label ?? ""}`, chartMarkup(() => curveSvg.node()), (e) => actions.reportError(e), "chart"),
    ),
    h("div", { class: "row" }, h("span", {}, "Steps"), steps, patch, curveFill, runCurve),
    curveSvg.node()!,
    curveInfo,
  );

  root.append(
    h("h2", {}, "F · Pixel flipping"),
    h("div", { class: "row" }, h("span", {}, "Flip to"), mode, h("span", {}, "Brush radius"), brush, brushValue, h("span", { class: "hint" }, "px"), add, source),
    h("p", { class: "hint" }, "Brush on the image or on the heatmap: the pixels are highlighted on both and the prediction updates. Each row has its own brush (circle, square, lasso; paint or erase) and fill per region. Wheel zooms (the outline shows the brush at that zoom), shift-drag pans."),
    h("div", { class: "flip-grid" }, original, rowsBox, curveBox),
  );

  const widgets = new Map<number, FlipRowWidget>();

  function renderRows(s: State): void {
    const lut = s.info?.colormaps.find((c) => c.name === s.colormap)?.lut;
    const url = s.image ? api.imageUrl(s.image.image_id) : "";
    for (const [id, w] of widgets) {
      if (!s.flipRows.some((r) => r.id === id)) {
        w.el.remove();
        widgets.delete(id);
      }
    }
    for (const row of s.flipRows) {
      let w = widgets.get(row.id);
      if (!w) {
        w = new FlipRowWidget(row.id, analysis);
        widgets.set(row.id, w);
      }
      rowsBox.append(w.el); // keeps the order of the store
      w.update(row, s, url, lut);
    }
  }

  function renderCurve(s: State): void {
    const c = s.flipCurve;
    clear(curveInfo);
    const stale = !!c && !!s.flipCurveStale;
    curveBox.classList.toggle("stale", stale);
    if (stale) curveBox.dataset.stale = "1";
    else delete curveBox.dataset.stale;
    if (!c) {
      curveSvg.selectAll("*").remove();
      delete curveBox.dataset.ready;
      curveInfo.append(h("span", { class: "hint" }, "MoRF: most relevant first; LeRF: least relevant first. AOPC = mean of f(x₀) − f(xₖ) over the steps."));
      return;
    }
    drawLineChart(
      curveSvg,
      {
        lines: c.curves.map((cv) => ({ name: cv.order, color: ORDER_COLORS[cv.order], points: cv.points.map((p) => [p.fraction, p.logit] as [number, number]) })),
        xLabel: "fraction of pixels flipped",
        yLabel: `score of “${c.label}”`,
      },
      { width: 330, height: 210 },
    );
    if (stale)
      curveInfo.append(
        h("div", { class: "stale-note", "data-testid": "curve-stale", role: "status" },
          `stale: these curves are from the run with ${c.steps} steps, ${c.patch === 1 ? "pixels" : `${c.patch}×${c.patch} patches`}, fill ${c.mode}; ${s.flipCurveStale}`),
      );
    for (const cv of c.curves) {
      const sw = h("span", { class: "swatch" });
      sw.style.background = ORDER_COLORS[cv.order];
      curveInfo.append(h("div", { "data-order": cv.order }, sw, ` ${ORDER_NAMES[cv.order]}: AOPC ${fmt(cv.aopc)}`));
    }
    const srg = srgOf(c);
    curveInfo.append(
      h(
        "div",
        { "data-testid": "flip-srg", "data-value": srg.value ?? "", title: "SRG (Blücher et al. 2024; docs/metrics.md) = (AOPC MoRF − AOPC LeRF) / (f(x₀) − f(x_N)): positive for a faithful map, at most 1" },
        srg.value == null ? `SRG: undefined (${srg.why})` : `SRG ${fmt(srg.value)} (fill: ${c.mode})`,
      ),
    );
    const per = c.elapsed_ms / (c.curves.length * c.steps * Math.max(1e-6, c.forward_ms));
    curveInfo.append(h("div", { class: "hint" }, `${c.curves.length} × ${c.steps} steps in ${Math.round(c.elapsed_ms)} ms (${per.toFixed(2)} × steps × forward)`));
    curveBox.dataset.ready = "1";
  }

  store.subscribe((s, p) => {
    if (changed(s, p, "image", "classIndex") && s.image) {
      drawPredictionBars(originalSvg, { topk: s.image.topk, selected: s.classIndex }, { width: 240, barHeight: 18, testid: "original-prediction", onSelect: (c) => void actions.selectClass(c) });
    }
    if (changed(s, p, "explain", "explainModel", "image", "models")) {
      source.textContent = s.explain && s.image ? `${s.image.source} · “${s.explain.label}” · ${modelLabel(s, s.explainModel).text}` : "";
    }
    if (changed(s, p, "flipRows", "explain", "colormap", "info", "image")) renderRows(s);
    if (changed(s, p, "flipCurve", "flipCurveStale")) renderCurve(s);
    if (changed(s, p, "info")) fillOptions(s);
    if (changed(s, p, "flipMode")) mode.value = s.flipMode ?? "";
    if (changed(s, p, "flipBrush")) {
      brush.value = String(s.flipBrush);
      if (document.activeElement !== brushValue) brushValue.value = String(s.flipBrush);
    }
  });
  fillOptions(store.get());
  renderCurve(store.get());
  brushValue.value = String(store.get().flipBrush);
}

/**
 * SRG of a run, as the metric suite defines it: both curves are normalised so the unflipped image scores 1
 * and the fully flipped one 0; SRG is the mean normalised LeRF score minus the MoRF one, which equals
 * (AOPC_MoRF − AOPC_LeRF) / (f(x₀) − f(x_N)). Undefined when flipping everything does not lower the score.
 */
export function srgOf(c: { curves: { order: string; aopc: number; points: { logit: number }[] }[] }): { value: number | null; why: string } {
  const morf = c.curves.find((x) => x.order === "morf");
  const lerf = c.curves.find((x) => x.order === "lerf");
  if (!morf || !lerf || !morf.points.length) return { value: null, why: "needs MoRF and LeRF" };
  const drop = morf.points[0].logit - morf.points[morf.points.length - 1].logit;
  if (!(drop > 0)) return { value: null, why: "flipping everything does not lower the score" };
  return { value: (morf.aopc - lerf.aopc) / drop, why: "" };
}
