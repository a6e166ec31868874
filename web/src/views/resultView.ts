// View B: the input (sample picker, file upload, drag-and-drop), the top-10 prediction bars, and the
// active model's heatmap for the chosen class beside the input image, under the picked start rule.
import * as d3 from "d3";
import { drawLegend } from "../draw/legend";
import { drawPredictionBars } from "../draw/predictionBars";
import { paint, scaleOf } from "../lib/colormap";
import { clear, fmt, h } from "../lib/dom";
import type { Actions } from "../state/actions";
import { changed, type State } from "../state/store";
import { canvasBlob, heatmapCanvas, heatmapNpy, saveBlob, slug } from "../lib/export";
import { contrastClass, startCaption, startKind } from "../lib/start";
import { chartMarkup, exportButtons } from "./exportButtons";
import { absorbedParts, sharePercent } from "../draw/accountingStrip";
import { modelLabel } from "./modelLabel";
import { regionBrush } from "./regionBrush";

const SIZE = 224;
/** Below this share of the start relevance at the input the map reads faint, and the page says why. */
const FAINT_SHARE = 0.01;

export function mountResultView(root: HTMLElement, actions: Actions): void {
  const { store, api } = actions;
  root.dataset.testid = "result-view";
  root.classList.add("panel");

  // Samples, and the uploads the server keeps (value "photo:<id>"), which survive a reload.
  const sampleSelect = h("select", { "data-testid": "sample-select", title: "sample photos and your uploads" });
  sampleSelect.addEventListener("change", () => {
    const v = sampleSelect.value;
    if (v.startsWith("photo:")) void actions.openPhoto(v.slice(6));
    else if (v) void actions.loadSample(v);
  });
  const deletePhoto = h("button", { class: "export", "data-testid": "photo-delete", title: "delete this uploaded photo from the server's store" }, "Delete upload");
  deletePhoto.addEventListener("click", () => {
    const img = store.get().image;
    if (img?.photo_id && window.confirm(`Delete the uploaded photo “${img.source}” from the store?`)) void actions.deletePhoto(img.photo_id);
  });
  const upload = h("input", { type: "file", accept: "image/*", "data-testid": "image-upload" });
  upload.addEventListener("change", () => {
    const f = upload.files?.[0];
    if (f) void actions.uploadFile(f);
    upload.value = "";
  });
  const drop = h("label", { class: "drop", title: "choose a photo or drop one here" }, "Upload or drop a photo ", upload);

  // The start rule: what the heatmap explains (docs/start-rules.md). The kinds come from /api/info; a kind
  // that takes a class gets a second select of the prediction's classes, the highest other than the target first.
  const startSelect = h("select", { "data-testid": "start-select", title: "start rule: what the heatmap is an explanation of" });
  const startClass = h("select", { "data-testid": "start-class", title: "the class to contrast the target with" });
  const startHelp = h("span", { class: "hint", "data-testid": "start-help" });
  startSelect.addEventListener("change", () => void actions.setStart(startSelect.value));
  startClass.addEventListener("change", () => void actions.setStart(store.get().start.kind, Number(startClass.value)));
  const startRow = h("div", { class: "row start-rule", "data-testid": "start-picker" }, h("span", {}, "Start rule "), startSelect, startClass, startHelp);

  function renderStart(s: State): void {
    const kinds = s.info?.start_kinds ?? [];
    if (startSelect.options.length !== kinds.length || kinds.some((k, i) => startSelect.options[i].value !== k.name)) {
      clear(startSelect);
      for (const k of kinds) startSelect.append(h("option", { value: k.name, title: k.description }, k.spelling));
    }
    startSelect.value = s.start.kind;
    const kind = startKind(s.info, s.start.kind);
    startHelp.textContent = kind ? kind.description : "";
    const topk = s.image?.topk ?? [];
    startClass.hidden = !kind?.takes_class;
    clear(startClass);
    if (!kind?.takes_class) return;
    for (const p of topk) if (p.index !== s.classIndex) startClass.append(h("option", { value: String(p.index) }, `vs ${p.label} (${p.index})`));
    const other = contrastClass(s.start, topk, s.classIndex);
    if (other != null) startClass.value = String(other);
  }

  const inputImg = h("img", { "data-testid": "input-image", alt: "input image (what the network sees)", width: SIZE, height: SIZE });
  const predSvg = d3.create("svg").attr("data-testid", "prediction-bars");
  const heatCanvas = h("canvas", { width: SIZE, height: SIZE, class: "hm" });
  heatCanvas.style.width = heatCanvas.style.height = `${SIZE}px`;
  const legendSvg = d3.create("svg");
  const heatCaption = h("figcaption", {}, "Click a class to explain it");
  const heatStack = regionBrush(heatCanvas);
  const heatBox = h("figure", { class: "heatmap-figure main", "data-testid": "heatmap" }, heatStack, legendSvg.node()!, heatCaption);
  const warnings = h("ul", { class: "warnings", "data-testid": "explain-warnings" });
  // Exports of the heatmap on screen: a PNG with its legend, and the raw relevance as a NumPy file.
  const pngBtn = h("button", { class: "export", "data-testid": "export-png", title: "download this heatmap as a PNG with its legend" }, "⤓ PNG");
  const npyBtn = h("button", { class: "export", "data-testid": "export-npy", title: "download the raw input relevance (float32, H×W) as a NumPy .npy file" }, "⤓ .npy");
  const exportName = (): string => {
    const s = store.get();
    return slug(`heatmap-${s.image?.source ?? "image"}-${s.explain?.label ?? ""}-${s.explainModel?.name ?? ""}`, "heatmap");
  };
  pngBtn.addEventListener("click", async () => {
    const s = store.get();
    const lut = s.info?.colormaps.find((c) => c.name === s.colormap)?.lut;
    if (!s.explain || !lut) return;
    const title = `${modelLabel(s, s.explainModel).text} → “${s.explain.label}”`;
    try {
      const scale = Number(heatBox.dataset.scale) || scaleOf(s.explain.heatmap); // as on screen
      saveBlob(`${exportName()}.png`, await canvasBlob(heatmapCanvas(s.explain.heatmap, lut, scale, { size: SIZE, title })));
    } catch (err) {
      actions.reportError(err);
    }
  });
  npyBtn.addEventListener("click", () => {
    const ex = store.get().explain;
    if (ex) saveBlob(`${exportName()}.npy`, heatmapNpy(ex.heatmap));
  });
  heatBox.append(h("div", { class: "export-buttons" }, pngBtn, npyBtn));
  // A fixed scale in shares of the target's logit: switching it on freezes the current map's scale,
  // so the next preset or class is drawn on the same scale and their strengths compare.
  const logitToggle = h("input", { type: "checkbox", "data-testid": "heatmap-normalise", title: "relevance as a share of the target's logit, on a fixed scale" });
  const logitBox = h("input", { type: "number", min: 0, step: "any", class: "percent", "data-testid": "heatmap-logit-scale", title: "the colours saturate at this % of the logit per pixel" });
  logitToggle.addEventListener("change", () => {
    const s = store.get();
    const ex = s.explain;
    if (!logitToggle.checked || !ex || !ex.score) actions.setLogitScale(null);
    else actions.setLogitScale(scaleOf(ex.heatmap) / Math.abs(ex.score));
  });
  logitBox.addEventListener("change", () => {
    const v = Number(logitBox.value) / 100;
    if (Number.isFinite(v) && v > 0) actions.setLogitScale(v);
    else logitBox.value = String(Number((100 * (store.get().logitScale ?? 0)).toPrecision(3)));
  });
  heatBox.append(h("label", { class: "logit-scale hint" }, logitToggle, " ÷ logit, fixed scale ±", logitBox, " %"));
  // A design that keeps under 1 % of the logit draws a faint map: say so beside it, name where the rest
  // went, and where the bias took it offer one click to exclude the bias (an undoable draft edit).
  const faintText = h("span", { "data-testid": "faint-text" });
  const excludeBias = h("button", { "data-testid": "exclude-bias", title: "explain without the bias terms (an undoable edit of the active model's draft)" }, "Exclude the bias");
  excludeBias.addEventListener("click", () => actions.excludeBias());
  const faint = h("div", { class: "faint-notice warnings", "data-testid": "faint-notice", hidden: true }, faintText, " ", excludeBias);
  heatBox.append(faint);

  /** The faint-map notice: shown when the input keeps under 1 % of the start relevance. */
  function renderFaint(s: State): void {
    const ex = s.explain;
    const a = ex?.accounting;
    const share = a && a.start ? a.final / a.start : null;
    const on = share != null && Math.abs(share) < FAINT_SHARE && !!s.image && ex!.image_id === s.image.image_id;
    faint.hidden = !on;
    if (!on || !a) return;
    // only the causes that took 1 % or more: they are where the map's strength went
    const causes = a.absorbed.flatMap((seg) => (Math.abs(seg.total) >= FAINT_SHARE ? absorbedParts(seg, FAINT_SHARE).map((t) => `S${seg.segment + 1}: ${t}`) : []));
    const bias = a.absorbed.reduce((sum, seg) => sum + seg.bias, 0);
    const withBias = s.explainModel?.include_bias ?? false;
    faint.dataset.share = String(share);
    faintText.textContent = `A faint map: under 1 % of the logit reaches the input (${sharePercent(share)}).${causes.length ? ` Where the rest went: ${causes.join("; ")}.` : ""}`;
    excludeBias.hidden = !withBias || bias <= 0;
  }

  root.append(
    h("h2", {}, "B · Result"),
    h("div", { class: "row" }, h("span", {}, "Image "), sampleSelect, deletePhoto, drop),
    startRow,
    h(
      "div",
      { class: "result-grid" },
      h("figure", { class: "heatmap-figure" }, inputImg, h("figcaption", { "data-testid": "image-caption" }, "")),
      heatBox,
      h(
        "div",
        { class: "preds", "data-testid": "prediction-chart" },
        h(
          "div",
          { class: "chart-head" },
          h("h3", {}, "Top-10 classes (pre-softmax score)"),
          exportButtons(() => `top10-${store.get().image?.source ?? "image"}`, chartMarkup(() => predSvg.node()), (e) => actions.reportError(e)),
        ),
        predSvg.node()!,
      ),
    ),
    warnings,
  );

  // Drag and drop anywhere on the view.
  root.addEventListener("dragover", (e) => {
    e.preventDefault();
    root.classList.add("dropping");
  });
  root.addEventListener("dragleave", () => root.classList.remove("dropping"));
  root.addEventListener("drop", (e) => {
    e.preventDefault();
    root.classList.remove("dropping");
    const f = e.dataTransfer?.files?.[0];
    if (f) void actions.uploadFile(f);
  });

  let version = 0;
  let shown: State["explain"] = null;
  function renderHeatmap(s: State): void {
    const lut = s.info?.colormaps.find((c) => c.name === s.colormap)?.lut;
    const ex = s.explain;
    pngBtn.disabled = npyBtn.disabled = !ex || !lut || !s.image || ex.image_id !== s.image.image_id;
    if (!ex || !lut || !s.image || ex.image_id !== s.image.image_id) {
      heatBox.classList.add("empty");
      heatBox.removeAttribute("data-class-index");
      heatCaption.textContent = s.image ? "Click a class to explain it" : "";
      heatCanvas.getContext("2d")?.clearRect(0, 0, heatCanvas.width, heatCanvas.height);
      return;
    }
    heatBox.classList.remove("empty");
    // On the logit scale, R_i / logit saturates at the chosen share: the scale in relevance units follows the logit.
    const share = s.logitScale;
    const scale = share != null && ex.score ? share * Math.abs(ex.score) : scaleOf(ex.heatmap);
    heatBox.dataset.scale = String(scale);
    logitToggle.checked = share != null;
    logitBox.disabled = share == null;
    if (document.activeElement !== logitBox) logitBox.value = share != null ? String(Number((100 * share).toPrecision(3))) : "";
    paint(heatCanvas, ex.heatmap, lut, scale);
    if (share != null) drawLegend(legendSvg, { lut, scale: 100 * share, caption: "% of the logit" }, { width: SIZE });
    else drawLegend(legendSvg, { lut, scale }, { width: SIZE });
    heatBox.dataset.classIndex = String(ex.class_index);
    if (ex !== shown) heatBox.dataset.version = String(++version);
    shown = ex;
    heatBox.dataset.colormap = s.colormap;
    heatBox.dataset.total = String(ex.heatmap.total);
    heatBox.dataset.start = ex.start;
    // ΣR of the start vector: the target's logit under the default rule, z_t − z_b under a contrast, ...
    const startSum = ex.start === s.info?.default_start ? ex.score : ex.accounting.start;
    const start = startCaption(ex.start, (i) => s.image?.topk.find((p) => p.index === i)?.label);
    heatCaption.textContent = `${modelLabel(s, s.explainModel).text} → “${ex.label}” · start ${start} · ΣR = ${fmt(ex.heatmap.total)} of ${fmt(startSum)} · ${Math.round(ex.elapsed_ms)} ms`;
    clear(warnings);
    for (const w of ex.warnings) warnings.append(h("li", {}, `⚠ ${w}`));
  }

  store.subscribe((s, p) => {
    if (changed(s, p, "info", "photos") && s.info) {
      clear(sampleSelect);
      sampleSelect.append(h("option", { value: "" }, "— pick a sample —"));
      const samples = h("optgroup", { label: "Samples" });
      for (const x of s.info.samples) samples.append(h("option", { value: x.name, title: x.description }, x.name));
      sampleSelect.append(samples);
      if (s.photos.length) {
        const mine = h("optgroup", { label: "Your uploads (kept on the server)" });
        for (const ph of s.photos) mine.append(h("option", { value: `photo:${ph.id}`, title: `${(ph.bytes / 1024).toFixed(0)} KB, ${new Date(ph.created * 1000).toLocaleString()}` }, ph.name));
        sampleSelect.append(mine);
      }
    }
    if (changed(s, p, "image") && s.image && s.image.image_id !== p.image?.image_id) {
      inputImg.src = api.imageUrl(s.image.image_id);
      inputImg.closest("figure")!.querySelector("figcaption")!.textContent = `${s.image.source} (${s.image.size}×${s.image.size} crop)`;
    }
    if (changed(s, p, "image", "photos", "info")) {
      const img = s.image;
      const value = img?.photo_id ? `photo:${img.photo_id}` : img && s.info?.samples.some((x) => x.name === img.source) ? img.source : "";
      sampleSelect.value = [...sampleSelect.options].some((o) => o.value === value) ? value : "";
      deletePhoto.disabled = !img?.photo_id;
    }
    if (changed(s, p, "image", "classIndex") && s.image) {
      drawPredictionBars(predSvg, { topk: s.image.topk, selected: s.classIndex }, { width: 250, onSelect: (c) => void actions.selectClass(c) });
    }
    if (changed(s, p, "explain", "colormap", "info", "image", "models", "logitScale")) renderHeatmap(s);
    if (changed(s, p, "explain", "image", "explainModel")) renderFaint(s);
    if (changed(s, p, "info", "image", "classIndex", "start")) renderStart(s);
  });
}
