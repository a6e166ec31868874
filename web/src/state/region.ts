// The region for the localisation metrics (relevance mass, pointing game): a rectangle drawn on the
// result view's heatmap, in image pixels, sent as `mask` with every metrics row. Its own tiny store, so
// the result view (drawing) and the comparison (sending) share it without touching the app store's shape.
import type { components } from "../api/schema";

export interface Region {
  /** Image size the rectangle lives in. */
  height: number;
  width: number;
  /** Half-open pixel box [x0, x1) × [y0, y1). */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

type Listener = (r: Region | null) => void;

class RegionState {
  region: Region | null = null;
  private listeners = new Set<Listener>();

  subscribe(fn: Listener): void {
    this.listeners.add(fn);
  }

  set(region: Region | null): void {
    this.region = region && region.x1 > region.x0 && region.y1 > region.y0 ? region : null;
    for (const fn of this.listeners) fn(this.region);
  }
}

export const regionState = new RegionState();

export function regionPixels(r: Region): number {
  return (r.x1 - r.x0) * (r.y1 - r.y0);
}

/** The region as the API's mask: shape [H, W] and base64 of H·W bytes, row-major, 1 inside. */
export function regionMask(r: Region): components["schemas"]["MaskData"] {
  const bytes = new Uint8Array(r.height * r.width);
  for (let y = r.y0; y < r.y1; y++) bytes.fill(1, y * r.width + r.x0, y * r.width + r.x1);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { shape: [r.height, r.width], data: btoa(bin) };
}
