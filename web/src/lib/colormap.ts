// Colouring relevance in the browser: decode the float32 payload, map value/scale through the LUT.
// Switching the colour map or the scale never needs the server.
import { color as d3color, interpolateViridis } from "d3";
import type { ColormapInfo, HeatmapData } from "../api/types";

export type Lut = ColormapInfo["lut"];

const decoded = new WeakMap<HeatmapData, Float32Array>();

export function values(h: HeatmapData): Float32Array {
  let out = decoded.get(h);
  if (!out) {
    const bin = atob(h.data);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    out = new Float32Array(bytes.buffer);
    decoded.set(h, out);
  }
  return out;
}

/** The LUT colour of value v on a symmetric scale [-scale, +scale]. */
export function colorOf(lut: Lut, v: number, scale: number): [number, number, number] {
  const t = scale > 0 ? Math.max(-1, Math.min(1, v / scale)) : 0;
  const i = Math.round(((t + 1) / 2) * (lut.length - 1));
  const c = lut[i];
  return [c[0], c[1], c[2]];
}

export function cssColor(lut: Lut, v: number, scale: number): string {
  const [r, g, b] = colorOf(lut, v, scale);
  return `rgb(${r},${g},${b})`;
}

/** Paint an (H, W) map into a canvas at its own resolution (CSS scales it up, pixelated). */
export function paintMap(canvas: HTMLCanvasElement, h: HeatmapData, lut: Lut, scale: number): void {
  const [height, width] = h.shape;
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const img = ctx.createImageData(width, height);
  const v = values(h);
  for (let i = 0; i < v.length; i++) {
    const [r, g, b] = colorOf(lut, v[i], scale);
    img.data[4 * i] = r;
    img.data[4 * i + 1] = g;
    img.data[4 * i + 2] = b;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/**
 * Paint a vector (a linear layer) as a bar strip: the vector is split into as many bins as the canvas
 * has columns; each bin shows its strongest value as a bar up (positive) or down (negative).
 */
export function paintVector(canvas: HTMLCanvasElement, h: HeatmapData, lut: Lut, scale: number): void {
  const v = values(h);
  const width = Math.max(1, Math.min(v.length, canvas.width || 224));
  const height = canvas.height || 96;
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.fillStyle = cssColor(lut, 0, 1);
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = "rgba(0,0,0,0.25)";
  ctx.fillRect(0, height / 2, width, 1);
  const per = v.length / width;
  for (let x = 0; x < width; x++) {
    let best = 0;
    for (let i = Math.floor(x * per); i < Math.max(Math.floor((x + 1) * per), Math.floor(x * per) + 1); i++) {
      if (Math.abs(v[i]) > Math.abs(best)) best = v[i];
    }
    const t = scale > 0 ? Math.max(-1, Math.min(1, best / scale)) : 0;
    const len = Math.abs(t) * (height / 2 - 2);
    ctx.fillStyle = cssColor(lut, best, scale);
    if (t >= 0) ctx.fillRect(x, height / 2 - len, 1, len);
    else ctx.fillRect(x, height / 2, 1, len);
  }
}

export function paint(canvas: HTMLCanvasElement, h: HeatmapData, lut: Lut, scale: number): void {
  if (h.kind === "map") paintMap(canvas, h, lut, scale);
  else paintVector(canvas, h, lut, scale);
}

const scales = new WeakMap<HeatmapData, number>();

/** The fraction of |relevance| values below the colour scale's end; the rest saturate. */
export const SCALE_QUANTILE = 0.995;

/**
 * Symmetric colour scale of one heatmap: the 99.5th percentile of |relevance| (a few extreme pixels
 * would otherwise wash the picture out), never above the largest |relevance|.
 */
export function scaleOf(h: HeatmapData): number {
  let s = scales.get(h);
  if (s === undefined) {
    const v = values(h);
    const abs = Float32Array.from(v, Math.abs).sort();
    s = abs.length ? abs[Math.min(abs.length - 1, Math.floor(SCALE_QUANTILE * abs.length))] : 0;
    if (!(s > 0)) s = h.abs_max > 0 ? h.abs_max : 1;
    scales.set(h, s);
  }
  return s;
}

/** A cell's own scale may exceed the shared one by this factor before the cell is marked. */
export const EXCEED_TOLERANCE = 1.1;
/** A cell whose own scale is below this fraction of the shared one looks blank: it is marked too. */
export const FAINT_BELOW = 0.1;

/** What the shared scale is, for legends and tooltips (see sharedScale). */
export const SHARED_SCALE_BASIS = "largest cell";
export const SHARED_SCALE_NOTE =
  "The shared scale is the largest of the shown cells' own scales (each the 99.5th percentile of its |R|): " +
  "no cell saturates beyond its own 99.5th percentile; a cell far below it is marked ▽ faint.";

/**
 * One colour scale for many heatmaps: the largest of the maps' own scales (each the 99.5th percentile
 * of its |relevance|, so a few extreme pixels do not set it). No map saturates beyond its own percentile,
 * so the strongest map looks as it does on its own scale and the others as fainter in proportion;
 * `faint` gives, per map, its own scale over the shared one when that is below FAINT_BELOW. `exceeds`
 * (a map's own scale over the shared one beyond EXCEED_TOLERANCE) stays null with this scale; it is kept
 * for callers that mark saturating cells.
 */
export function sharedScale(maps: HeatmapData[], divisors?: number[]): { scale: number; exceeds: (number | null)[]; faint: (number | null)[] } {
  // With divisors (each row's logit), the maps are compared as R / divisor; the scale is in those units.
  const own = maps.map((m, i) => scaleOf(m) / (divisors ? Math.abs(divisors[i]) || 1 : 1));
  const largest = Math.max(0, ...own);
  const scale = largest > 0 ? largest : 1;
  return {
    scale,
    exceeds: own.map((s) => (s > scale * EXCEED_TOLERANCE ? s / scale : null)),
    faint: own.map((s) => (s < scale * FAINT_BELOW ? s / scale : null)),
  };
}

/**
 * A sequential scale for quantities that are not signed evidence (activations): viridis, dark (low) to
 * yellow (high), perceptually uniform and readable by colour-blind users and in greyscale.
 */
export const SEQUENTIAL_LUT: Lut = Array.from({ length: 256 }, (_, i) => {
  const c = d3color(interpolateViridis(i / 255))!.rgb();
  return [Math.round(c.r), Math.round(c.g), Math.round(c.b)];
});

/** The range a sequential map spans: from min(0, lowest) to the highest value. */
export function sequentialRange(h: HeatmapData): [number, number] {
  const lo = Math.min(0, h.min);
  return [lo, h.max > lo ? h.max : lo + 1];
}

/** Paint an (H, W) map on a sequential LUT over [lo, hi]. */
export function paintSequential(canvas: HTMLCanvasElement, h: HeatmapData, lut: Lut, range: [number, number]): void {
  const [height, width] = h.shape;
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const img = ctx.createImageData(width, height);
  const v = values(h);
  const [lo, hi] = range;
  for (let i = 0; i < v.length; i++) {
    const t = Math.max(0, Math.min(1, (v[i] - lo) / (hi - lo)));
    const c = lut[Math.round(t * (lut.length - 1))];
    img.data[4 * i] = c[0];
    img.data[4 * i + 1] = c[1];
    img.data[4 * i + 2] = c[2];
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
