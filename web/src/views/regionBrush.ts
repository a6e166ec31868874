// A region brush on the result heatmap for the localisation metrics: with "▭ Region" on, dragging draws
// a rectangle (image pixels); it is shown over the heatmap and sent as `mask` by the comparison's metrics.
import { h } from "../lib/dom";
import { regionPixels, regionState } from "../state/region";

/** Wrap the heatmap canvas with the brush's overlay; returns the element to put in its place. */
export function regionBrush(canvas: HTMLCanvasElement): HTMLElement {
  const box = h("div", { class: "region-outline", "data-testid": "region-outline" });
  box.hidden = true;
  const toggle = h("button", { "data-testid": "region-brush", title: "draw a region on the heatmap for relevance mass and the pointing game (drag a rectangle)" }, "▭ Region");
  const clearBtn = h("button", { "data-testid": "region-clear", title: "remove the region" }, "✕");
  const info = h("span", { class: "hint", "data-testid": "region-info" });
  const stack = h("div", { class: "region-stack" }, canvas, box);
  let on = false;
  let start: [number, number] | null = null;

  const toPixel = (e: PointerEvent): [number, number] => {
    const r = canvas.getBoundingClientRect();
    const x = Math.floor(((e.clientX - r.left) / r.width) * canvas.width);
    const y = Math.floor(((e.clientY - r.top) / r.height) * canvas.height);
    return [Math.min(canvas.width - 1, Math.max(0, x)), Math.min(canvas.height - 1, Math.max(0, y))];
  };
  const update = (a: [number, number], b: [number, number]) =>
    regionState.set({
      height: canvas.height,
      width: canvas.width,
      x0: Math.min(a[0], b[0]),
      y0: Math.min(a[1], b[1]),
      x1: Math.max(a[0], b[0]) + 1,
      y1: Math.max(a[1], b[1]) + 1,
    });

  toggle.addEventListener("click", () => {
    on = !on;
    toggle.classList.toggle("selected", on);
    stack.classList.toggle("drawing", on);
  });
  clearBtn.addEventListener("click", () => regionState.set(null));
  stack.addEventListener("pointerdown", (e) => {
    if (!on) return;
    e.preventDefault();
    start = toPixel(e);
    stack.setPointerCapture(e.pointerId);
    update(start, start);
  });
  stack.addEventListener("pointermove", (e) => {
    if (start) update(start, toPixel(e));
  });
  stack.addEventListener("pointerup", (e) => {
    if (start) update(start, toPixel(e));
    start = null;
  });

  regionState.subscribe((r) => {
    box.hidden = !r;
    clearBtn.disabled = !r;
    stack.dataset.region = r ? `${r.x0},${r.y0},${r.x1},${r.y1}` : "";
    info.textContent = r ? `${r.x1 - r.x0}×${r.y1 - r.y0} px` : "";
    info.title = r ? `region of ${regionPixels(r)} pixels for relevance mass and the pointing game (comparison metrics)` : "";
    if (!r) return;
    const sx = canvas.clientWidth / canvas.width || 1;
    const sy = canvas.clientHeight / canvas.height || 1;
    Object.assign(box.style, { left: `${r.x0 * sx}px`, top: `${r.y0 * sy}px`, width: `${(r.x1 - r.x0) * sx}px`, height: `${(r.y1 - r.y0) * sy}px` });
  });
  clearBtn.disabled = true;
  return h("div", {}, stack, h("div", { class: "row" }, toggle, clearBtn, info));
}
