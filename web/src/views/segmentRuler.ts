// View C: the segment ruler over all layers, the parameter bars of every segment, and the
// intermediate relevance maps after each segment.
import * as d3 from "d3";
import type { LayerInfo } from "../api/types";
import { absorbedParts, drawAccountingStrip, keptWords, segmentSentence } from "../draw/accountingStrip";
import { drawParamBars } from "../draw/paramBars";
import { drawRuler } from "../draw/ruler";
import { drawSegmentLinks, type MapBox } from "../draw/segmentLinks";
import { presetLabel } from "../draw/segmentBars";
import { StaleResponse } from "../services/api";
import { segmentColor } from "../draw/theme";
import { clear, fmt, h } from "../lib/dom";
import { partLabel, partsIn } from "../lib/layers";
import { moveBoundary, removeSegment, ruleOf, splitAt, splitSegment } from "../lib/segments";
import type { Actions } from "../state/actions";
import { activeModel, changed, type State } from "../state/store";
import { heatmapFigure } from "./heatmapFigure";

/** Cells per side of the grid the hovered region is taken from. */
const LINK_GRID = 8;

export function mountSegmentRuler(root: HTMLElement, actions: Actions): void {
  const { store } = actions;
  root.dataset.testid = "config-view";
  root.classList.add("panel");

  const split = h("button", { "data-testid": "add-segment", title: "split the selected segment in two" }, "+ Split segment");
  const remove = h("button", { "data-testid": "remove-segment", title: "merge the selected segment into its neighbour" }, "− Remove segment");
  split.addEventListener("click", () => {
    const s = store.get();
    const m = activeModel(s);
    if (m) actions.editActive(splitSegment(m, s.selectedSegment), 0);
  });
  remove.addEventListener("click", () => {
    const s = store.get();
    const m = activeModel(s);
    if (m && m.segments.length > 1) {
      actions.editActive(removeSegment(m, s.selectedSegment), 0);
      store.set({ selectedSegment: Math.max(0, s.selectedSegment - 1) });
    }
  });
  const rulerBox = h("div", { class: "ruler-box", "data-testid": "segment-ruler" });
  const tooltip = h("div", { class: "tooltip", "data-testid": "layer-tooltip", hidden: true });
  const params = h("div", { class: "param-view", "data-testid": "parameter-view" });
  const maps = h("div", { class: "intermediate", "data-testid": "intermediate-heatmaps" });
  // Lines from a hovered region of one map to where its relevance goes in the next map (issue 11, item 6).
  const linksSvg = d3.create("svg").attr("class", "segment-links").attr("data-testid", "segment-links");
  const mapCanvases = new Map<number, HTMLCanvasElement>();
  let linkKey = "";
  const accountingSvg = d3.create("svg");
  const absorbedList = h("ul", { class: "absorbed-list", "data-testid": "absorbed-list" });
  const accounting = h("div", { class: "accounting", "data-testid": "relevance-accounting" }, accountingSvg.node()!, absorbedList);

  root.append(
    h("h2", {}, "C · Configuration"),
    h("div", { class: "row" }, h("span", { class: "hint" }, "Drag a boundary handle; click a segment to edit it."), split, remove),
    rulerBox,
    tooltip,
    h("h3", {}, "Parameters per segment"),
    params,
    h("h3", {}, "Relevance after each segment (towards the input)"),
    h("p", { class: "hint" }, "Hover a map: lines point to the cells of the next map that receive most of that region's relevance."),
    maps,
    h("h3", {}, "Where relevance is lost (share of the logit)"),
    accounting,
  );

  maps.addEventListener("mouseleave", () => clearLinks());

  function hover(layer: LayerInfo | null, event?: MouseEvent): void {
    if (!layer || !event) {
      tooltip.hidden = true;
      return;
    }
    tooltip.hidden = false;
    tooltip.textContent = `#${layer.index} ${layer.name} · ${layer.kind} · [${layer.shape.join("×")}]${layer.block != null ? ` · block ${layer.block}` : ""}`;
    const box = root.getBoundingClientRect();
    tooltip.style.left = `${Math.min(event.clientX - box.left + 12, box.width - 260)}px`;
    tooltip.style.top = `${event.clientY - box.top + 16}px`;
  }

  function renderRuler(s: State): void {
    const model = activeModel(s);
    // The ruler is redrawn on every edit: keep the keyboard focus on the same handle or band.
    const focused = rulerBox.contains(document.activeElement) ? (document.activeElement as Element) : null;
    const refocus = focused?.getAttribute("data-boundary") != null ? `[data-boundary="${focused.getAttribute("data-boundary")}"]`
      : focused?.getAttribute("data-segment") != null ? `[data-testid=ruler-segment][data-segment="${focused.getAttribute("data-segment")}"]` : null;
    clear(rulerBox);
    if (!s.info || !model) return;
    const svg = d3.create("svg");
    const width = Math.max(400, rulerBox.clientWidth || 640);
    drawRuler(
      svg,
      { layers: s.info.layers, model, selected: s.selectedSegment, presets: s.info.presets },
      {
        width,
        onSelect: (k) => actions.selectSegment(k),
        onMove: (k, start) => {
          const m = activeModel(store.get());
          if (m) actions.editActive(moveBoundary(m, k, start), 0);
        },
        onHover: hover,
        // A block's band: start a segment at its first layer (a copy of the segment it is cut from), or
        // select the segment that already starts there.
        onSplitAt: (start) => {
          const m = activeModel(store.get());
          if (!m) return;
          const at = m.segments.findIndex((x) => x.start === start);
          if (at >= 0) return actions.selectSegment(at);
          const next = splitAt(m, start);
          if (next.segments.length === m.segments.length) return;
          actions.editActive(next, 0);
          actions.selectSegment(next.segments.findIndex((x) => x.start === start));
        },
      },
    );
    rulerBox.append(svg.node()!);
    if (refocus) rulerBox.querySelector<SVGElement>(refocus)?.focus();
    remove.disabled = model.segments.length <= 1;
    const sel = model.segments[s.selectedSegment];
    split.disabled = !sel || sel.end <= sel.start;
  }

  function renderParams(s: State): void {
    const model = activeModel(s);
    clear(params);
    if (!s.info || !model) return;
    model.segments.forEach((seg, k) => {
      const svg = d3.create("svg");
      drawParamBars(svg, { rule: ruleOf(seg), params: s.info!.params }, { width: 150 });
      const card = h(
        "div",
        { class: `param-card${k === s.selectedSegment ? " selected" : ""}`, "data-testid": "param-card", "data-segment": k },
        h("div", { class: "card-title" }, h("span", { class: "swatch" }), `S${k + 1} · ${presetLabel(seg.preset, s.info!.presets)}`),
        h("div", { class: "card-sub" }, `layers ${seg.start}–${seg.end}`),
        svg.node()!,
        // A transformer segment's attention and LayerNorm rules, where it has such layers.
        ...partsIn(s.info!.layers, seg).map((part) => h("div", { class: "card-sub", "data-testid": `param-card-${part}` }, partLabel(s.info!, part, seg[part]))),
      );
      (card.querySelector(".swatch") as HTMLElement).style.background = segmentColor(k);
      card.addEventListener("click", () => actions.selectSegment(k));
      params.append(card);
    });
  }

  /** The canvas of segment k's map as a box in the maps container's pixels. */
  function boxOf(k: number): MapBox | null {
    const c = mapCanvases.get(k);
    if (!c) return null;
    const outer = maps.getBoundingClientRect();
    const r = c.getBoundingClientRect();
    return { x: r.left - outer.left, y: r.top - outer.top, width: r.width, height: r.height };
  }

  function clearLinks(): void {
    linkKey = "";
    drawSegmentLinks(linksSvg, null, { width: 0, height: 0 });
    delete linksSvg.node()!.dataset.ready;
  }

  /** Ask the engine where the hovered cell's relevance goes in the next map (segment k-1), then draw it. */
  async function hoverLinks(k: number, event: MouseEvent, canvas: HTMLCanvasElement): Promise<void> {
    const s = store.get();
    if (!s.explain || !s.image || !s.explainModel) return;
    const r = canvas.getBoundingClientRect();
    const x = Math.min(0.9999, Math.max(0, (event.clientX - r.left) / r.width));
    const y = Math.min(0.9999, Math.max(0, (event.clientY - r.top) / r.height));
    const key = `${k}:${Math.floor(y * LINK_GRID)}:${Math.floor(x * LINK_GRID)}`;
    if (key === linkKey) return;
    linkKey = key;
    const explain = s.explain;
    try {
      const out = await actions.api.call(
        () =>
          actions.api.client.POST("/api/segment-links", {
            body: { image_id: s.image!.image_id, class_index: explain.class_index, model: s.explainModel!, segment: k, x, y, grid: LINK_GRID, top_k: 5, start: explain.start },
          }),
        "segment-links",
      );
      const from = boxOf(k);
      const to = boxOf(k - 1);
      if (store.get().explain !== explain || linkKey !== key || !from || !to) return;
      drawSegmentLinks(linksSvg, { from, to, region: out.region, sources: out.sources }, { width: maps.scrollWidth, height: maps.scrollHeight });
      const node = linksSvg.node()!;
      node.dataset.ready = "1";
      node.dataset.segment = String(k);
      node.dataset.row = String(out.region.row);
      node.dataset.col = String(out.region.col);
      node.dataset.reached = String(out.reached);
    } catch (err) {
      if (!(err instanceof StaleResponse)) actions.reportError(err);
    }
  }

  function renderMaps(s: State): void {
    clear(maps);
    mapCanvases.clear();
    clearLinks();
    maps.append(linksSvg.node()!);
    const ex = s.explain;
    const lut = s.info?.colormaps.find((c) => c.name === s.colormap)?.lut;
    if (!ex || !lut) return;
    // Shown from the output side down, in the order relevance flows.
    const items = [...ex.intermediate].reverse();
    for (const m of items) {
      const caption = m.layer_index < 0 ? `after S${m.segment + 1} → input` : `after S${m.segment + 1} → #${m.layer_index} ${m.layer_kind}`;
      let fig: HTMLElement;
      if (m.heatmap) {
        fig = heatmapFigure(m.heatmap, lut, { size: m.heatmap.kind === "map" ? 112 : 180, legend: true, caption });
        fig.title = `${m.layer_name}: ΣR = ${fmt(m.heatmap.total)}${m.heatmap.kind === "vector" ? ` over ${m.heatmap.shape[0]} units (bar strip)` : ""}`;
        // A transformer's token layer arrives on the patch grid: say so (the class token is not on it).
        const grid = s.info?.token_grid;
        const layer = s.info?.layers[m.layer_index];
        if (grid && layer && layer.kind !== "Conv" && m.heatmap.kind === "map") {
          fig.title += ` · patch tokens on the ${grid.height}×${grid.width} grid (tokens in front of the patches, the class token, not shown)`;
          fig.dataset.tokens = "1";
        }
      } else {
        fig = h("figure", { class: "heatmap-figure empty" }, h("figcaption", {}, `${caption}: no relevance`));
      }
      fig.dataset.segment = String(m.segment);
      fig.style.borderTopColor = segmentColor(m.segment);
      fig.classList.add("seg-map");
      fig.addEventListener("click", () => actions.selectSegment(m.segment));
      const canvas = m.heatmap?.kind === "map" ? fig.querySelector("canvas") : null;
      if (canvas) {
        mapCanvases.set(m.segment, canvas);
        const below = ex.intermediate.find((o) => o.segment === m.segment - 1);
        if (below?.heatmap?.kind === "map") {
          canvas.dataset.testid = "segment-map-hover";
          canvas.classList.add("linkable");
          canvas.addEventListener("mousemove", (ev) => void hoverLinks(m.segment, ev, canvas));
        }
      }
      maps.append(fig);
    }
  }

  /** ΣR after each layer and what each segment's bias and stabilisers absorbed, from the explain answer. */
  function renderAccounting(s: State): void {
    const a = s.explain?.accounting;
    clear(absorbedList);
    if (!a || !s.info) {
      accountingSvg.selectAll("*").remove();
      delete accounting.dataset.ready;
      return;
    }
    const width = Math.max(400, rulerBox.clientWidth || 640);
    drawAccountingStrip(accountingSvg, { ...a, nLayers: s.info.n_layers, colors: segmentColor }, { width });
    for (const seg of a.absorbed) {
      const sw = h("span", { class: "swatch" });
      sw.style.background = segmentColor(seg.segment);
      absorbedList.append(
        h(
          "li",
          { "data-segment": seg.segment },
          sw,
          ` ${segmentSentence(seg)}: ${absorbedParts(seg).join(", ")}`,
        ),
      );
    }
    absorbedList.append(h("li", { class: "hint", "data-testid": "accounting-final" }, `In all, ${keptWords(a.final / (a.start || 1))} (relevance ${fmt(a.final)} of ${fmt(a.start)}).`));
    accounting.dataset.ready = "1";
    accounting.dataset.final = String(a.final);
  }

  store.subscribe((s, p) => {
    if (changed(s, p, "explain", "info")) renderAccounting(s);
    if (changed(s, p, "info", "activeId", "drafts", "models", "selectedSegment")) {
      renderRuler(s);
      renderParams(s);
    }
    if (changed(s, p, "explain", "colormap")) renderMaps(s);
  });
  window.addEventListener("resize", () => {
    renderRuler(store.get());
    renderAccounting(store.get());
  });
}
