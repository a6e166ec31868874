import { describe, expect, it } from "vitest";
import type { HeatmapData } from "../api/types";
import {
  colorOf,
  cssColor,
  type Lut,
  paintMap,
  paintSequential,
  scaleOf,
  SEQUENTIAL_LUT,
  sequentialRange,
  SHARED_SCALE_BASIS,
  SHARED_SCALE_NOTE,
  sharedScale,
  values,
} from "./colormap";

/** A heatmap as the server sends it: float32 little-endian values, base64. */
function heatmap(v: number[], shape: number[] = [v.length], extra: Partial<HeatmapData> = {}): HeatmapData {
  const bytes = new Uint8Array(new Float32Array(v).buffer);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  const abs = v.map(Math.abs);
  return {
    data: btoa(bin),
    shape,
    kind: shape.length === 2 ? "map" : "vector",
    min: Math.min(...v),
    max: Math.max(...v),
    abs_max: Math.max(0, ...abs),
    total: v.reduce((a, b) => a + b, 0),
    ...extra,
  };
}

/** A five-colour grey ramp: index i is (i, i, i). */
const LUT5: Lut = [[0, 0, 0], [1, 1, 1], [2, 2, 2], [3, 3, 3], [4, 4, 4]];

/** A canvas stand-in that records the pixels painted into it. */
function fakeCanvas(): { canvas: HTMLCanvasElement; pixels: () => number[] } {
  let painted: Uint8ClampedArray | null = null;
  const ctx = {
    createImageData: (w: number, h: number) => ({ width: w, height: h, data: new Uint8ClampedArray(4 * w * h) }),
    putImageData: (img: { data: Uint8ClampedArray }) => (painted = img.data),
  };
  const canvas = { width: 0, height: 0, getContext: () => ctx } as unknown as HTMLCanvasElement;
  return { canvas, pixels: () => Array.from(painted ?? []) };
}

describe("values", () => {
  it("decodes the base64 float32 payload", () => {
    // 1.5 = 0x3FC00000, -2 = 0xC0000000, little-endian.
    const h: HeatmapData = { data: btoa("\x00\x00\xc0\x3f\x00\x00\x00\xc0"), shape: [2], kind: "vector", min: -2, max: 1.5, abs_max: 2, total: -0.5 };
    expect(Array.from(values(h))).toEqual([1.5, -2]);
  });

  it("decodes each heatmap once", () => {
    const h = heatmap([1, 2, 3]);
    expect(values(h)).toBe(values(h));
  });
});

describe("colorOf", () => {
  it("maps −scale, 0 and +scale to the first, middle and last colours", () => {
    expect(colorOf(LUT5, -2, 2)).toEqual([0, 0, 0]);
    expect(colorOf(LUT5, 0, 2)).toEqual([2, 2, 2]);
    expect(colorOf(LUT5, 2, 2)).toEqual([4, 4, 4]);
  });

  it("rounds to the nearest colour and saturates beyond the scale", () => {
    expect(colorOf(LUT5, -1, 2)).toEqual([1, 1, 1]); // t = −0.5 → index 1
    expect(colorOf(LUT5, 0.3, 1)).toEqual([3, 3, 3]); // (1.3 / 2) · 4 = 2.6 → 3
    expect(colorOf(LUT5, 50, 2)).toEqual([4, 4, 4]);
    expect(colorOf(LUT5, -50, 2)).toEqual([0, 0, 0]);
  });

  it("shows everything as 0 on a scale of 0", () => {
    expect(colorOf(LUT5, 7, 0)).toEqual([2, 2, 2]);
  });

  it("writes CSS colours", () => {
    expect(cssColor([[10, 20, 30], [40, 50, 60]], 1, 1)).toBe("rgb(40,50,60)");
  });
});

describe("scaleOf", () => {
  it("is the 99.5th percentile of |relevance|", () => {
    // |v| = 1..1000: the value at index floor(0.995 · 1000) = 995 of the sorted list is 996.
    const v = Array.from({ length: 1000 }, (_, i) => (i % 2 ? -(i + 1) : i + 1));
    expect(scaleOf(heatmap(v))).toBe(996);
  });

  it("is the only value of a one-value map", () => {
    expect(scaleOf(heatmap([-3]))).toBe(3);
  });

  it("falls back to abs_max, then 1, for an all-zero map", () => {
    expect(scaleOf(heatmap([0, 0, 0]))).toBe(1);
    expect(scaleOf(heatmap([0, 0], [2], { abs_max: 0.5 }))).toBe(0.5);
  });
});

describe("sharedScale", () => {
  it("takes the largest of the maps' own scales, so no map saturates, and marks those far below", () => {
    const s = sharedScale([heatmap([0.25]), heatmap([4]), heatmap([10])]);
    expect(s.scale).toBe(10);
    expect(s.exceeds).toEqual([null, null, null]);
    expect(s.faint).toEqual([0.025, null, null]);
  });

  it("takes the larger of two: the stronger column is not saturated 11× (issue 18, point 11)", () => {
    const s = sharedScale([heatmap([1]), heatmap([11])]);
    expect(s.scale).toBe(11);
    expect(s.exceeds).toEqual([null, null]);
    expect(s.faint).toEqual([1 / 11, null]);
  });

  it("uses each map's own 99.5th percentile, so a few extreme pixels do not set it", () => {
    const v = Array.from({ length: 1000 }, (_, i) => (i < 2 ? 1000 : 1)); // two outliers of 1000 among 1s
    expect(sharedScale([heatmap(v), heatmap([0.5])]).scale).toBe(1);
  });

  it("compares maps as shares of their divisors (each row's logit)", () => {
    const s = sharedScale([heatmap([2]), heatmap([8])], [4, -2]);
    expect(s.scale).toBe(4); // own scales 0.5 and 4
    expect(s.exceeds).toEqual([null, null]);
    expect(s.faint).toEqual([null, null]); // 0.5 / 4 is not below a tenth
    expect(sharedScale([heatmap([2])], [0]).scale).toBe(2); // a zero divisor counts as 1
  });

  it("is 1 with no maps or only blank ones", () => {
    expect(sharedScale([]).scale).toBe(1);
    expect(sharedScale([heatmap([0, 0], [2], { abs_max: 0 })]).scale).toBe(1);
  });

  it("says what it is", () => {
    expect(SHARED_SCALE_BASIS).toBe("largest cell");
    expect(SHARED_SCALE_NOTE).toContain("largest");
    expect(SHARED_SCALE_NOTE).toContain("99.5th percentile");
  });
});

describe("sequential maps", () => {
  it("run from viridis's dark purple to its yellow", () => {
    expect(SEQUENTIAL_LUT).toHaveLength(256);
    expect(SEQUENTIAL_LUT[0]).toEqual([0x44, 0x01, 0x54]);
    expect(SEQUENTIAL_LUT[255]).toEqual([0xfd, 0xe7, 0x25]);
  });

  it("span from min(0, lowest) to the highest value", () => {
    expect(sequentialRange(heatmap([0.5, 2]))).toEqual([0, 2]);
    expect(sequentialRange(heatmap([-1, 3]))).toEqual([-1, 3]);
    expect(sequentialRange(heatmap([0, 0]))).toEqual([0, 1]);
    expect(sequentialRange(heatmap([-3, -2]))).toEqual([-3, -2]);
  });

  it("paint low, middle and high values with the first, middle and last colours", () => {
    const { canvas, pixels } = fakeCanvas();
    paintSequential(canvas, heatmap([0, 1, 2, 9], [2, 2]), LUT5, [0, 2]);
    expect([canvas.width, canvas.height]).toEqual([2, 2]);
    expect(pixels()).toEqual([0, 0, 0, 255, 2, 2, 2, 255, 4, 4, 4, 255, 4, 4, 4, 255]);
  });
});

describe("paintMap", () => {
  it("paints each value with its LUT colour on a symmetric scale, at the map's size", () => {
    const { canvas, pixels } = fakeCanvas();
    paintMap(canvas, heatmap([-1, 0, 0.5, 1, 3, -3], [2, 3]), LUT5, 1);
    expect([canvas.width, canvas.height]).toEqual([3, 2]);
    // indices: −1 → 0, 0 → 2, 0.5 → 3, 1 → 4, 3 → 4 (saturated), −3 → 0
    expect(pixels()).toEqual([0, 0, 0, 255, 2, 2, 2, 255, 3, 3, 3, 255, 4, 4, 4, 255, 4, 4, 4, 255, 0, 0, 0, 255]);
  });
});
