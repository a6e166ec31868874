// One row of the pixel-flipping view: the input image and its heatmap side by side, sharing one mask
// (brushed on either, highlighted on both) and one zoom/pan; tools; the new top-10 after flipping.
import * as d3 from "d3";
import { drawChangeBars } from "../draw/changeBars";
import { type Lut, paint, scaleOf } from "../lib/colormap";
import { fmt, h } from "../lib/dom";
import type { AnalysisActions } from "../state/analysisActions";
import type { FlipRow, State } from "../state/store";

const SIZE = 224;
const HIGHLIGHT: [number, number, number, number] = [255, 214, 0, 150];

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
    const remove = h("button", { class: "icon", "data-testid": "flip-remove", title: "remove this row" }, "✕");
    remove.addEventListener("click", () => analysis.removeFlipRow(id));
    this.pred = h("div", { class: "flip-pred", "data-testid": "flip-prediction" }, h("h3", {}, "After flipping: top-10 (Δ score, rank)"), this.caption, this.predSvg.node()!);
    this.el = h(
      "div",
      { class: "flip-row", "data-testid": "flip-row", "data-row-id": id },
      h("div", { class: "flip-images" }, imageBox, heatBox),
      h("div", { class: "flip-tools" }, h("div", { class: "row" }, undo, clearBtn, zoomReset, remove), h("div", { class: "row nowrap" }, h("span", {}, "Top"), percent, h("span", {}, "%:"), most, least)),
      this.pred,
    );
  }

  private viewport(base: HTMLElement, testid: string, title: string): HTMLElement {
    const overlay = h("canvas", { class: "flip-overlay", width: SIZE, height: SIZE });
    const stack = h("div", { class: "flip-stack" }, base, overlay);
    const box = h("div", { class: "flip-viewport", "data-testid": testid, title }, stack);
    this.overlays.push(overlay);
    this.stacks.push(stack);
    box.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = box.getBoundingClientRect();
      const mx = e.clientX - r.left;
      const my = e.clientY - r.top;
      const k = Math.max(1, Math.min(8, this.view.k * (e.deltaY < 0 ? 1.25 : 0.8)));
      const f = k / this.view.k;
      this.setView({ k, tx: mx - (mx - this.view.tx) * f, ty: my - (my - this.view.ty) * f });
    });
    let mode: "brush" | "pan" | null = null;
    let last: [number, number] | null = null;
    let working: Uint8Array | null = null;
    box.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      box.setPointerCapture(e.pointerId);
      mode = e.shiftKey ? "pan" : "brush";
      last = [e.clientX, e.clientY];
      if (mode === "brush") {
        const row = this.analysis.row(this.id);
        if (!row) return;
        this.analysis.pushUndo(this.id);
        working = row.mask.slice();
        this.stamp(working, box, e.clientX, e.clientY, e.clientX, e.clientY);
        this.analysis.setMask(this.id, working.slice(), 250);
      }
    });
    box.addEventListener("pointermove", (e) => {
      if (!mode || !last) return;
      if (mode === "pan") {
        this.setView({ ...this.view, tx: this.view.tx + e.clientX - last[0], ty: this.view.ty + e.clientY - last[1] });
      } else if (working) {
        this.stamp(working, box, last[0], last[1], e.clientX, e.clientY);
        this.analysis.setMask(this.id, working.slice(), 250);
      }
      last = [e.clientX, e.clientY];
    });
    const end = () => {
      if (mode === "brush" && working) this.analysis.setMask(this.id, working.slice(), 0);
      mode = null;
      last = null;
      working = null;
    };
    box.addEventListener("pointerup", end);
    box.addEventListener("pointercancel", end);
    return box;
  }

  /** Paint the brush (a disc of the chosen radius, in image pixels) along a segment of the stroke. */
  private stamp(mask: Uint8Array, box: HTMLElement, x0: number, y0: number, x1: number, y1: number): void {
    const r = box.getBoundingClientRect();
    const toPx = (cx: number, cy: number): [number, number] => [(cx - r.left - this.view.tx) / this.view.k, (cy - r.top - this.view.ty) / this.view.k];
    const [ax, ay] = toPx(x0, y0);
    const [bx, by] = toPx(x1, y1);
    const radius = this.analysis.store.get().flipBrush;
    const steps = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) / Math.max(1, radius / 2)));
    for (let s = 0; s <= steps; s++) {
      const cx = ax + ((bx - ax) * s) / steps;
      const cy = ay + ((by - ay) * s) / steps;
      for (let y = Math.max(0, Math.floor(cy - radius)); y <= Math.min(SIZE - 1, Math.ceil(cy + radius)); y++) {
        for (let x = Math.max(0, Math.floor(cx - radius)); x <= Math.min(SIZE - 1, Math.ceil(cx + radius)); x++) {
          if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= radius * radius) mask[y * SIZE + x] = 1;
        }
      }
    }
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
        img.data.set(HIGHLIGHT, 4 * i);
      }
      ctx.putImageData(img, 0, 0);
    }
    this.el.dataset.flipped = String(count);
  }

  update(row: FlipRow, s: State, imageUrl: string, lut: Lut | undefined): void {
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
