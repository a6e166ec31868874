// One row of the pixel-flipping view: the input image and its heatmap side by side, sharing one mask
// (brushed on either, highlighted on both) and one zoom/pan; tools; the new top-10 after flipping.
import * as d3 from "d3";
import { drawChangeBars } from "../draw/changeBars";
import { type Lut, paint, scaleOf } from "../lib/colormap";
import { type BrushShape, REGION_COLORS, type RegionFill, fillPolygon, labelOf, regionFills, stampSegment } from "../lib/brush";
import { fmt, h } from "../lib/dom";
import type { AnalysisActions } from "../state/analysisActions";
import type { FlipRow, State } from "../state/store";
import { chartMarkup, exportButtons } from "./exportButtons";

const SIZE = 224;
const MAX_ZOOM = 16;

interface View {
  k: number;
  tx: number;
  ty: number;
}

export class FlipRowWidget {
  readonly el: HTMLElement;
  private image = h("img", { alt: "input image", width: SIZE, height: SIZE, draggable: "false" });
  private heat = h("canvas", { class: "hm", width: SIZE, height: SIZE });
  private overlays: HTMLCanvasElement[] = [];
  private stacks: HTMLElement[] = [];
  private predSvg = d3.create("svg");
  private caption = h("div", { class: "flip-caption" });
  private pred: HTMLElement;
  private view: View = { k: 1, tx: 0, ty: 0 };
  private shownMask: Uint8Array | null = null;
  private shownResult: FlipRow["result"] = null;
  private version = 0;
  private shape: HTMLSelectElement;
  private erase: HTMLInputElement;
  private fill: HTMLSelectElement;
  private swatch: HTMLElement;

  constructor(
    private id: number,
    private analysis: AnalysisActions,
  ) {
    const imageBox = this.viewport(this.image, "flip-image", "brush on the image to flip pixels");
    const heatBox = this.viewport(this.heat, "flip-heatmap", "brush on the heatmap to flip pixels by relevance");
    const undo = h("button", { "data-testid": "flip-undo", title: "undo the last change" }, "↶ Undo");
    undo.addEventListener("click", () => analysis.undo(id));
    const clearBtn = h("button", { "data-testid": "flip-clear", title: "unflip every pixel" }, "Clear");
    clearBtn.addEventListener("click", () => analysis.clearMask(id));
    const percent = h("input", { type: "number", min: 0.5, max: 100, step: 0.5, value: 10, class: "percent", "data-testid": "flip-percent", title: "k %" });
    const most = h("button", { "data-testid": "flip-most", title: "flip the k % most relevant pixels" }, "most relevant");
    most.addEventListener("click", () => analysis.flipTopPercent(id, Number(percent.value), true));
    const least = h("button", { "data-testid": "flip-least", title: "flip the k % least relevant pixels" }, "least relevant");
    least.addEventListener("click", () => analysis.flipTopPercent(id, Number(percent.value), false));
    const zoomReset = h("button", { title: "reset zoom and pan" }, "⤢ 1:1");
    zoomReset.addEventListener("click", () => this.setView({ k: 1, tx: 0, ty: 0 }));
    // This row's brush: shape, paint or erase, and the fill of the regions it paints.
    this.shape = h("select", { "data-testid": "brush-shape", title: "brush shape (a lasso fills the outline you draw)" });
    for (const [v, label] of [["circle", "● circle"], ["square", "■ square"], ["lasso", "➰ lasso"]]) this.shape.append(h("option", { value: v }, label));
    this.shape.addEventListener("change", () => analysis.setRowBrush(id, { shape: this.shape.value as BrushShape }));
    this.erase = h("input", { type: "checkbox", "data-testid": "brush-erase", title: "the brush unflips pixels" });
    this.erase.addEventListener("change", () => analysis.setRowBrush(id, { erase: this.erase.checked }));
    this.fill = h("select", { "data-testid": "brush-fill", title: "what the pixels this brush paints become (each region keeps its own)" });
    const info = analysis.store.get().info;
    for (const f of regionFills(info))
      this.fill.append(h("option", { value: f }, f === "view" ? "fill: the view's mode" : `fill: ${info?.fills.find((x) => x.name === f)?.label ?? f}`));
    this.fill.addEventListener("change", () => analysis.setRowBrush(id, { fill: this.fill.value as RegionFill }));
    this.swatch = h("span", { class: "swatch region-swatch", title: "the colour of this fill's regions" });
    const remove = h("button", { class: "icon", "data-testid": "flip-remove", title: "remove this row" }, "✕");
    remove.addEventListener("click", () => analysis.removeFlipRow(id));
    const predExport = exportButtons(() => `flip-row-${id}-top10`, chartMarkup(() => this.predSvg.node()), (e) => analysis.base.reportError(e));
    this.pred = h(
      "div",
      { class: "flip-pred", "data-testid": "flip-prediction" },
      h("div", { class: "chart-head" }, h("h3", {}, "After flipping: top-10 (Δ score, rank)"), predExport),
      this.caption,
      this.predSvg.node()!,
    );
    this.el = h(
      "div",
      { class: "flip-row", "data-testid": "flip-row", "data-row-id": id },
      h("div", { class: "flip-images" }, imageBox, heatBox),
      h(
        "div",
        { class: "flip-tools" },
        h("div", { class: "row" }, undo, clearBtn, zoomReset, remove),
        h("div", { class: "row nowrap" }, this.shape, h("label", { class: "erase" }, this.erase, " erase")),
        h("div", { class: "row nowrap" }, this.swatch, this.fill),
        h("div", { class: "row nowrap" }, h("span", {}, "Top"), percent, h("span", {}, "%:"), most, least),
      ),
      this.pred,
    );
  }

  /** The mask label of a region fill (its place among the server's fills). */
  private labelOf(fill: RegionFill): number {
    return labelOf(fill, regionFills(this.analysis.store.get().info));
  }

  private viewport(base: HTMLElement, testid: string, title: string): HTMLElement {
    const overlay = h("canvas", { class: "flip-overlay", width: SIZE, height: SIZE });
    const stack = h("div", { class: "flip-stack" }, base, overlay);
    // The brush outline and the lasso path, drawn in screen pixels above the zoomed stack.
    const guide = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    guide.setAttribute("class", "brush-guide");
    const cursor = document.createElementNS("http://www.w3.org/2000/svg", "path");
    cursor.setAttribute("class", "brush-cursor");
    const lasso = document.createElementNS("http://www.w3.org/2000/svg", "path");
    lasso.setAttribute("class", "brush-lasso");
    guide.append(cursor, lasso);
    const box = h("div", { class: "flip-viewport", "data-testid": testid, title }, stack, guide);
    this.overlays.push(overlay);
    this.stacks.push(stack);
    box.addEventListener("wheel", (e) => {
      e.preventDefault();
      const [mx, my] = this.inBox(box, e.clientX, e.clientY);
      const k = Math.max(1, Math.min(MAX_ZOOM, this.view.k * (e.deltaY < 0 ? 1.25 : 0.8)));
      const f = k / this.view.k;
      this.setView({ k, tx: mx - (mx - this.view.tx) * f, ty: my - (my - this.view.ty) * f });
      this.drawCursor(cursor, box, e.clientX, e.clientY);
    });
    let mode: "brush" | "lasso" | "pan" | null = null;
    let last: [number, number] | null = null;
    let working: Uint8Array | null = null;
    let path: [number, number][] = [];
    const brush = () => this.analysis.row(this.id)?.brush;
    const value = () => {
      const b = brush();
      return !b || b.erase ? 0 : this.labelOf(b.fill);
    };
    box.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      box.setPointerCapture(e.pointerId);
      const b = brush();
      mode = e.shiftKey ? "pan" : b?.shape === "lasso" ? "lasso" : "brush";
      last = [e.clientX, e.clientY];
      if (mode === "pan") return;
      const row = this.analysis.row(this.id);
      if (!row) return;
      this.analysis.pushUndo(this.id);
      working = row.mask.slice();
      if (mode === "lasso") {
        path = [this.toImage(stack, e.clientX, e.clientY)];
        this.drawLasso(lasso, path);
      } else {
        this.stamp(working, stack, last, last);
        this.analysis.setMask(this.id, working.slice(), 250);
      }
    });
    box.addEventListener("pointermove", (e) => {
      this.drawCursor(cursor, box, e.clientX, e.clientY);
      if (!mode || !last) return;
      if (mode === "pan") {
        this.setView({ ...this.view, tx: this.view.tx + e.clientX - last[0], ty: this.view.ty + e.clientY - last[1] });
      } else if (mode === "lasso") {
        path.push(this.toImage(stack, e.clientX, e.clientY));
        this.drawLasso(lasso, path);
      } else if (working) {
        this.stamp(working, stack, last, [e.clientX, e.clientY]);
        this.analysis.setMask(this.id, working.slice(), 250);
      }
      last = [e.clientX, e.clientY];
    });
    box.addEventListener("pointerleave", () => cursor.setAttribute("d", ""));
    const end = () => {
      if (mode === "lasso" && working) {
        fillPolygon(working, SIZE, path, value());
        lasso.setAttribute("d", "");
        path = [];
      }
      if ((mode === "brush" || mode === "lasso") && working) this.analysis.setMask(this.id, working.slice(), 0);
      mode = null;
      last = null;
      working = null;
    };
    box.addEventListener("pointerup", end);
    box.addEventListener("pointercancel", end);
    return box;
  }

  /** A client point in the viewport's own pixels (inside its border). */
  private inBox(box: HTMLElement, cx: number, cy: number): [number, number] {
    const r = box.getBoundingClientRect();
    return [cx - r.left - box.clientLeft, cy - r.top - box.clientTop];
  }

  /** A client point in image pixels, from the zoomed stack's on-screen box (exact at any zoom). */
  private toImage(stack: HTMLElement, cx: number, cy: number): [number, number] {
    const r = stack.getBoundingClientRect();
    return [((cx - r.left) / r.width) * SIZE, ((cy - r.top) / r.height) * SIZE];
  }

  /** Paint the brush (circle or square of the chosen radius, in image pixels) along a stroke segment. */
  private stamp(mask: Uint8Array, stack: HTMLElement, from: [number, number], to: [number, number]): void {
    const b = this.analysis.row(this.id)?.brush;
    if (!b || b.shape === "lasso") return;
    const radius = this.analysis.store.get().flipBrush;
    stampSegment(mask, SIZE, this.toImage(stack, ...from), this.toImage(stack, ...to), radius, b.shape, b.erase ? 0 : this.labelOf(b.fill));
  }

  /** The brush's footprint at the pointer, at the current zoom: what a click will paint. */
  private drawCursor(cursor: SVGPathElement, box: HTMLElement, cx: number, cy: number): void {
    const b = this.analysis.row(this.id)?.brush;
    if (!b || b.shape === "lasso") {
      cursor.setAttribute("d", "");
      return;
    }
    const [x, y] = this.inBox(box, cx, cy);
    const r = this.analysis.store.get().flipBrush * this.view.k;
    cursor.setAttribute(
      "d",
      b.shape === "circle" ? `M${x - r},${y}a${r},${r} 0 1,0 ${2 * r},0a${r},${r} 0 1,0 ${-2 * r},0` : `M${x - r},${y - r}h${2 * r}v${2 * r}h${-2 * r}Z`,
    );
    cursor.classList.toggle("erase", b.erase);
  }

  private drawLasso(lasso: SVGPathElement, points: [number, number][]): void {
    const { k, tx, ty } = this.view;
    lasso.setAttribute("d", points.map(([x, y], i) => `${i ? "L" : "M"}${x * k + tx},${y * k + ty}`).join("") + "Z");
  }

  private setView(v: View): void {
    const k = v.k;
    const lim = (t: number) => Math.max(SIZE * (1 - k), Math.min(0, t));
    this.view = { k, tx: lim(v.tx), ty: lim(v.ty) };
    for (const st of this.stacks) st.style.transform = `translate(${this.view.tx}px,${this.view.ty}px) scale(${k})`;
  }

  private drawMask(mask: Uint8Array): void {
    let count = 0;
    for (const canvas of this.overlays) {
      const ctx = canvas.getContext("2d");
      if (!ctx) continue;
      const img = ctx.createImageData(SIZE, SIZE);
      count = 0;
      for (let i = 0; i < mask.length; i++) {
        if (!mask[i]) continue;
        count++;
        img.data.set(REGION_COLORS[mask[i]] ?? REGION_COLORS[1], 4 * i);
      }
      ctx.putImageData(img, 0, 0);
    }
    this.el.dataset.flipped = String(count);
  }

  update(row: FlipRow, s: State, imageUrl: string, lut: Lut | undefined): void {
    this.shape.value = row.brush.shape;
    this.erase.checked = row.brush.erase;
    this.fill.value = row.brush.fill;
    const c = REGION_COLORS[this.labelOf(row.brush.fill)];
    this.swatch.style.background = `rgba(${c[0]},${c[1]},${c[2]},${c[3] / 255})`;
    this.el.dataset.brush = `${row.brush.shape}${row.brush.erase ? "-erase" : ""}`;
    if (this.image.getAttribute("src") !== imageUrl) this.image.src = imageUrl;
    const hm = s.explain?.heatmap;
    if (hm && lut) paint(this.heat, hm, lut, scaleOf(hm));
    if (row.mask !== this.shownMask) {
      this.drawMask(row.mask);
      this.shownMask = row.mask;
    }
    if (row.result !== this.shownResult) {
      this.shownResult = row.result;
      const res = row.result;
      if (res) {
        drawChangeBars(this.predSvg, { topk: res.topk, target: res.class_index }, { width: 330 });
        this.caption.textContent = `${res.flipped} px flipped (${(100 * res.fraction).toFixed(1)} %) · “${s.explain?.label ?? res.class_index}” ${fmt(res.original_score)} → ${fmt(res.score)}`;
        this.pred.dataset.ready = "1";
        this.pred.dataset.version = String(++this.version);
        this.pred.dataset.top1 = String(res.topk[0]?.index ?? "");
        this.pred.dataset.score = String(res.score);
        this.pred.dataset.originalScore = String(res.original_score);
      } else {
        this.predSvg.selectAll("*").remove();
        this.caption.textContent = "Brush on the image or the heatmap, or flip the top k %.";
        delete this.pred.dataset.ready;
      }
    }
  }
}
