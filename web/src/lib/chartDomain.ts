// Value axes of the neuron charts (view G): scaled to the data, with zero always on the axis.

/**
 * The domain of a chart of signed scores: from min(0, lowest) to max(0, highest), so zero is on the
 * axis and a chart whose values are all ≤ 0 (negative relevance) ends at 0 instead of at a fixed 1.
 * Non-finite values are ignored. Only when every value is 0 (or there is none) is there nothing to scale
 * to; then it is [0, 1].
 */
export function valueDomain(values: readonly number[]): [number, number] {
  let lo = 0;
  let hi = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo === hi ? [0, 1] : [lo, hi];
}

/** Pixels between the outermost point and the edge of the brushable area, on every side. */
export const BRUSH_PAD = 8;

/**
 * A pixel interval [from, to] (either direction) shrunk by `pad` at both ends: where the points go, so
 * that the brushable area (the whole interval) reaches `pad` pixels beyond the outermost point.
 */
export function inset(from: number, to: number, pad: number = BRUSH_PAD): [number, number] {
  const p = Math.min(pad, Math.abs(to - from) / 4);
  return from <= to ? [from + p, to - p] : [from - p, to + p];
}
