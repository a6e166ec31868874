// View G (the paper's V6): relevance-based neuron ablation. Pick a conv layer (its neurons are channels)
// or a vision transformer's attention heads layer (its units are heads) on the ruler; three coordinated
// charts (positive relevance, negative relevance, activation) and two matrices share one selection of
// units; the selected units' maps (a head's on the patch grid); the prediction after ablating them.
import * as d3 from "d3";
import { drawChangeBars } from "../draw/changeBars";
import { drawLayerPicker } from "../draw/layerPicker";
import { drawLineChart } from "../draw/lineChart";
import { drawNeuronChart } from "../draw/neuronChart";
import { drawNeuronMatrix } from "../draw/neuronMatrix";
import { drawPredictionBars } from "../draw/predictionBars";
import { clear, fmt, h } from "../lib/dom";
import { neuronUnit, unitWord } from "../lib/layers";
import { clone } from "../lib/segments";
import type { Actions } from "../state/actions";
import type { AnalysisActions } from "../state/analysisActions";
import { activeModel, changed, type State } from "../state/store";
import { heatmapFigure } from "./heatmapFigure";
import { chartMarkup, exportButtons } from "./exportButtons";
import { modelLabel } from "./modelLabel";

const CHARTS = [
  { key: "pos", label: "positive relevance", color: "#c0392b" },
  { key: "neg", label: "negative relevance", color: "#2f6fb0" },
  { key: "act", label: "mean activation", color: "#2e8b57" },
] as const;

export function mountAblationView(root: HTMLElement, actions: Actions, analysis: AnalysisActions): void {
  const { store } = actions;
  root.dataset.testid = "ablation-view";
  root.classList.add("panel");

  const source = h("span", { class: "hint", "data-testid": "ablation-source" });
  const rulerSvg = d3.create("svg");
  const ruler = h("div", { class: "ruler-box", "data-testid": "layer-ruler" }, rulerSvg.node()!);
  const layerName = h("span", { class: "hint", "data-testid": "ablation-layer" });
  const layerPrompt = h("span", {}, "Conv layer (click the ruler):");
  const selHint = h("span", { class: "hint" }, "Drag a box in any chart to select neurons.");
  const curveTitle = h("h3", {}, "Ablate the k most relevant vs k random neurons");
  const mapsHint = h("p", { class: "hint" });
  const chartSvgs = CHARTS.map(() => d3.create("svg"));
  const charts = h(
    "div",
    { class: "neuron-charts" },
    ...CHARTS.map((c, i) =>
      h(
        "div",
        { "data-testid": `neuron-chart-${c.key}`, class: "neuron-chart-box" },
        chartSvgs[i].node()!,
        exportButtons(() => `neurons-${c.key}-layer-${store.get().ablationLayer ?? ""}`, chartMarkup(() => chartSvgs[i].node()), (e) => actions.reportError(e)),
      ),
    ),
  );
  const matrixSvgs = [d3.create("svg"), d3.create("svg")];
  const detail = h("div", { class: "hint neuron-detail", "data-testid": "neuron-detail" }, "Hover a cell for details; click adds or removes a neuron.");
  /** "head" on an attention heads layer, else "neuron" (a conv channel). */
  const unitOf = (s: State) => unitWord(s.info && s.ablationLayer != null ? neuronUnit(s.info.layers[s.ablationLayer]) : null);
  const matrices = h(
    "div",
    { class: "neuron-matrices" },
    h("div", { "data-testid": "neuron-matrix-pos" }, h("h3", {}, "Positive relevance"), matrixSvgs[0].node()!),
    h("div", { "data-testid": "neuron-matrix-neg" }, h("h3", {}, "Negative relevance"), matrixSvgs[1].node()!),
  );
  const selInfo = h("span", { "data-testid": "neuron-selection" });
  const clearSel = h("button", { "data-testid": "clear-selection", title: "select no neuron" }, "Clear selection");
  clearSel.addEventListener("click", () => analysis.setSelection([]));
  // Ablation linked to refinement (issue 11, item 8): a draft of the active model whose relevance, where it
  // reaches the picked layer, stays only in (or leaves only) the selected neurons; save and compare it as any model.
  const refineMode = h(
    "select",
    { "data-testid": "ablation-refine-mode", title: "which relevance the draft keeps at this layer" },
    h("option", { value: "keep" }, "only the selected neurons"),
    h("option", { value: "exclude" }, "all but the selected neurons"),
  ) as HTMLSelectElement;
  const refine = h("button", { "data-testid": "ablation-refine", title: "make a draft of the active model whose heatmap shows what the chosen neurons explain" }, "Refine heatmap to");
  const unfilter = h("button", { "data-testid": "ablation-refine-clear", title: "remove the neuron filter from the active model (a draft)" }, "Remove neuron filter");
  const refineStatus = h("span", { class: "hint", "data-testid": "ablation-refine-status" });
  refine.addEventListener("click", () => {
    const s = store.get();
    const model = activeModel(s);
    const layer = s.neurons?.layer_index;
    if (!model || layer == null || !s.neuronSelection.length) return;
    const mode = refineMode.value === "exclude" ? "exclude" : "keep";
    actions.editActive({ ...clone(model), neuron_filter: { layer, channels: [...s.neuronSelection], mode } }, 0);
  });
  unfilter.addEventListener("click", () => {
    const model = activeModel(store.get());
    if (model?.neuron_filter) actions.editActive({ ...clone(model), neuron_filter: null }, 0);
  });
  const maps = h("div", { class: "neuron-maps", "data-testid": "neuron-maps" });
  const originalSvg = d3.create("svg");
  const ablatedSvg = d3.create("svg");
  const ablCaption = h("div", { class: "flip-caption" });
  const prediction = h(
    "div",
    { class: "ablation-prediction", "data-testid": "ablation-prediction" },
    h("div", {}, h("h3", {}, "Original top-10"), originalSvg.node()!),
    h(
      "div",
      {},
      h(
        "div",
        { class: "chart-head" },
        h("h3", {}, "After ablating the selection"),
        exportButtons(() => `ablation-top10-layer-${store.get().ablationLayer ?? ""}`, chartMarkup(() => ablatedSvg.node()), (e) => actions.reportError(e)),
      ),
      ablCaption,
      ablatedSvg.node()!,
    ),
  );
  const curveSvg = d3.create("svg");
  const curveBox = h(
    "div",
    { class: "ablation-curve", "data-testid": "ablation-curve" },
    h(
      "div",
      { class: "chart-head" },
      curveTitle,
      exportButtons(() => `ablation-curve-layer-${store.get().ablationLayer ?? ""}`, chartMarkup(() => curveSvg.node()), (e) => actions.reportError(e)),
    ),
    curveSvg.node()!,
  );

  root.append(
    h("h2", {}, "G · Neuron ablation"),
    h("div", { class: "row" }, source),
    h("div", { class: "row" }, layerPrompt, layerName),
    ruler,
    charts,
    h("div", { class: "row" }, selInfo, clearSel, selHint),
    h("div", { class: "row" }, refine, refineMode, unfilter, refineStatus),
    h("div", { class: "ablation-grid" }, h("div", {}, matrices, detail), maps, h("div", {}, prediction, curveBox)),
  );

  function renderRuler(s: State): void {
    if (!s.info) return;
    drawLayerPicker(rulerSvg, { layers: s.info.layers, selected: s.ablationLayer }, { width: Math.max(600, ruler.clientWidth || 1100), onPick: (i) => void analysis.loadNeurons(i) });
    const layer = s.ablationLayer != null ? s.info.layers[s.ablationLayer] : null;
    const unit = layer ? neuronUnit(layer) : null;
    layerName.textContent = layer
      ? `${layer.index} · ${layer.name} · ${layer.shape.join("×")}${unit === "head" ? ` · ${layer.shape[0]} attention heads` : ""}${layer.block != null ? ` · block ${layer.block}` : ""}`
      : "none picked yet";
    const heads = s.info.layers.some((l) => neuronUnit(l) === "head");
    layerPrompt.textContent = heads ? "Conv or attention heads layer (click the ruler):" : "Conv layer (click the ruler):";
    const word = unitOf(s);
    root.dataset.unit = word;
    selHint.textContent = `Drag a box in any chart to select ${word}s.`;
    detail.textContent = `Hover a cell for details; click adds or removes a ${word}.`;
    curveTitle.textContent = `Ablate the k most relevant vs k random ${word}s`;
    refineMode.options[0].text = `only the selected ${word}s`;
    refineMode.options[1].text = `all but the selected ${word}s`;
  }

  function renderNeurons(s: State): void {
    const n = s.neurons;
    const selected = new Set(s.neuronSelection);
    const word = unitOf(s);
    selInfo.textContent = `${selected.size} ${word}(s) selected`;
    root.dataset.selected = String(selected.size);
    if (!n) {
      for (const svg of [...chartSvgs, ...matrixSvgs]) svg.selectAll("*").remove();
      return;
    }
    const series = [n.neurons.map((r) => r.pos), n.neurons.map((r) => r.neg), n.neurons.map((r) => r.activation)];
    CHARTS.forEach((c, i) =>
      drawNeuronChart(chartSvgs[i], { values: series[i], selected, color: c.color, label: c.label, unit: word }, {
        width: 360,
        height: 160,
        onBrush: (ch) => analysis.setSelection(ch),
        onClick: (ch) => analysis.toggleNeuron(ch),
      }),
    );
    const lut = s.info?.colormaps.find((c) => c.name === s.colormap)?.lut;
    if (!lut) return;
    const scale = Math.max(1e-30, ...series[0], ...series[1].map((v) => -v));
    const hover = (ch: number | null) => {
      if (ch == null) return;
      const r = n.neurons[ch];
      detail.textContent = `${word} ${ch}: R⁺ = ${fmt(r.pos)}, R⁻ = ${fmt(r.neg)}, activation ${fmt(r.activation)}${selected.has(ch) ? " · selected" : ""}`;
    };
    [0, 1].forEach((i) =>
      drawNeuronMatrix(matrixSvgs[i], { values: series[i], selected, lut, scale }, { width: 250, onHover: hover, onClick: (ch) => analysis.toggleNeuron(ch) }),
    );
  }

  function renderRefine(s: State): void {
    refine.disabled = !s.neurons || !s.neuronSelection.length || !activeModel(s);
    const f = activeModel(s)?.neuron_filter;
    unfilter.disabled = !f;
    const fWord = f && s.info?.layers[f.layer] ? unitWord(neuronUnit(s.info.layers[f.layer])) : "neuron";
    refineStatus.textContent = f
      ? `The active model's heatmap keeps relevance at layer ${f.layer} ${f.mode === "keep" ? "only in" : "in all but"} ${fWord}(s) ${f.channels.join(", ")}.`
      : "";
    root.dataset.neuronFilter = f ? `${f.mode}:${f.layer}:${f.channels.join(",")}` : "";
  }

  function renderMaps(s: State): void {
    clear(maps);
    const lut = s.info?.colormaps.find((c) => c.name === s.colormap)?.lut;
    const m = s.neuronMaps;
    const word = unitOf(s);
    if (!m || !lut || !s.neuronSelection.length) {
      maps.append(h("p", { class: "hint" }, `Select ${word}s to see their relevance map, activation map and conditional input heatmap.`));
      delete maps.dataset.ready;
      return;
    }
    maps.append(h("div", { class: "maps-head" }, h("span", {}, word), h("span", {}, "relevance"), h("span", {}, "activation"), h("span", {}, "conditional heatmap")));
    if (word === "head") {
      mapsHint.textContent = "A head's relevance (summed over its features) and activation (their mean) per patch token, on the patch grid; the class token is not on it.";
      maps.append(mapsHint);
    }
    for (const map of m.maps) {
      maps.append(
        h(
          "div",
          { class: "map-row", "data-testid": "neuron-map", "data-channel": map.channel },
          h("span", { class: "cls", title: `${word} ${map.channel}` }, `#${map.channel}`),
          heatmapFigure(map.relevance, lut, { size: 84, caption: `ΣR ${fmt(map.relevance.total)}` }),
          heatmapFigure(map.activation, lut, { size: 84, sequential: true, legend: true }),
          heatmapFigure(map.conditional, lut, { size: 84, caption: `ΣR ${fmt(map.conditional.total)}` }),
        ),
      );
    }
    if (s.neuronSelection.length > m.maps.length) maps.append(h("p", { class: "hint" }, `the ${m.maps.length} most relevant of ${s.neuronSelection.length} selected`));
    maps.dataset.ready = "1";
  }

  function renderPrediction(s: State): void {
    if (s.image) drawPredictionBars(originalSvg, { topk: s.image.topk, selected: s.classIndex }, { width: 250, barHeight: 18, testid: "original-prediction", onSelect: (c) => void actions.selectClass(c) });
    const a = s.ablation;
    if (!a || !s.neuronSelection.length) {
      ablatedSvg.selectAll("*").remove();
      ablCaption.textContent = "Select neurons to ablate them.";
      delete prediction.dataset.ready;
      return;
    }
    drawChangeBars(ablatedSvg, { topk: a.topk, target: a.class_index }, { width: 330 });
    const word = s.info?.layers[a.layer_index] ? unitWord(neuronUnit(s.info.layers[a.layer_index])) : "neuron";
    ablCaption.textContent = `${a.channels.length} ${word}(s) of layer ${a.layer_index} zeroed (${word} ${a.channels.slice(0, 8).join(", ")}${a.channels.length > 8 ? ", …" : ""}) · “${s.explain?.label ?? a.class_index}” ${fmt(a.original_score)} → ${fmt(a.score)}`;
    prediction.dataset.ready = "1";
    prediction.dataset.top1 = String(a.topk[0]?.index ?? "");
    prediction.dataset.score = String(a.score);
    prediction.dataset.originalScore = String(a.original_score);
  }

  function renderCurve(s: State): void {
    const c = s.ablationCurve;
    if (!c) {
      curveSvg.selectAll("*").remove();
      return;
    }
    drawLineChart(
      curveSvg,
      {
        lines: [
          { name: "top-k by relevance", color: "#c0392b", points: c.ks.map((k, i) => [k, c.top[i]] as [number, number]) },
          { name: "random k", color: "#7f7f7f", points: c.ks.map((k, i) => [k, c.random[i]] as [number, number]) },
        ],
        xLabel: `k ${unitOf(s)}s ablated (red: most relevant, grey: random)`,
        yLabel: "class score",
      },
      { width: 330, height: 180 },
    );
  }

  store.subscribe((s, p) => {
    if (changed(s, p, "info", "ablationLayer")) renderRuler(s);
    if (changed(s, p, "explain", "explainModel", "image", "models")) {
      source.textContent = s.explain && s.image ? `Starts from the result view: ${s.image.source} · “${s.explain.label}” · ${modelLabel(s, s.explainModel).text}` : "";
    }
    if (changed(s, p, "neurons", "neuronSelection", "colormap", "info")) renderNeurons(s);
    if (changed(s, p, "neuronMaps", "neuronSelection", "colormap", "info")) renderMaps(s);
    if (changed(s, p, "ablation", "neuronSelection", "image", "classIndex")) renderPrediction(s);
    if (changed(s, p, "ablationCurve")) renderCurve(s);
    if (changed(s, p, "neurons", "neuronSelection", "activeId", "drafts", "models")) renderRefine(s);
  });
}
