// Brushes of the pixel-flipping rows: shapes stamped into a label mask (one byte per pixel: 0 = kept,
// k = flipped with the fill of region label k), and the fills a region can have.
import type { FlipMode, Info } from "../api/types";

export type BrushShape = "circle" | "square" | "lasso";
/** "view" follows the view's fill mode; the others fix the region's own fill. */
export type RegionFill = "view" | FlipMode;

/** The fills a region can have: "view", then the server's fills that do not depend on the mask, in its order. */
export function regionFills(info: Pick<Info, "fills"> | null): RegionFill[] {
  return ["view", ...(info?.fills ?? []).filter((f) => !f.per_mask).map((f) => f.name as FlipMode)];
}

/** Overlay colour (RGBA) of each label: 1 = the view's mode, then the server's fills in order. */
export const REGION_COLORS: [number, number, number, number][] = [
  [0, 0, 0, 0],
  [255, 214, 0, 150],
  [255, 120, 0, 160],
  [40, 40, 40, 170],
  [0, 190, 220, 160],
  [200, 0, 200, 150],
];

/** The mask label of a region fill among `fills` (see regionFills). */
export function labelOf(fill: RegionFill, fills: RegionFill[]): number {
  return fills.indexOf(fill) + 1;
}

/** What the server gets as `region_modes`: label k flips with entry k − 1. */
export function regionModes(viewMode: FlipMode, fills: RegionFill[]): FlipMode[] {
  return fills.map((f) => (f === "view" ? viewMode : f));
}

/**
 * Stamp a circle (or a square of side 2r) of radius `r` image pixels along the segment a → b, writing
 * `value` (0 erases). Pixel (x, y) is covered when its centre lies inside the shape.
 */
export function stampSegment(mask: Uint8Array, size: number, a: [number, number], b: [number, number], r: number, shape: "circle" | "square", value: number): void {
  const steps = Math.max(1, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) / Math.max(0.25, r / 2)));
  for (let s = 0; s <= steps; s++) {
    const cx = a[0] + ((b[0] - a[0]) * s) / steps;
    const cy = a[1] + ((b[1] - a[1]) * s) / steps;
    for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(size - 1, Math.ceil(cy + r)); y++) {
      for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(size - 1, Math.ceil(cx + r)); x++) {
        const dx = x + 0.5 - cx;
        const dy = y + 0.5 - cy;
        const inside = shape === "circle" ? dx * dx + dy * dy <= r * r : Math.abs(dx) <= r && Math.abs(dy) <= r;
        if (inside) mask[y * size + x] = value;
      }
    }
  }
}

/** Fill the polygon (a lasso, in image pixels) with `value`: pixels whose centre is inside (even-odd rule). */
export function fillPolygon(mask: Uint8Array, size: number, points: [number, number][], value: number): void {
  if (points.length < 3) return;
  for (let y = 0; y < size; y++) {
    const py = y + 0.5;
    const xs: number[] = [];
    for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
      const [xi, yi] = points[i];
      const [xj, yj] = points[j];
      if (yi > py !== yj > py) xs.push(xi + ((py - yi) * (xj - xi)) / (yj - yi));
    }
    xs.sort((p, q) => p - q);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const from = Math.max(0, Math.ceil(xs[k] - 0.5));
      const to = Math.min(size - 1, Math.floor(xs[k + 1] - 0.5));
      for (let x = from; x <= to; x++) mask[y * size + x] = value;
    }
  }
}
