import { describe, expect, it } from "vitest";
import { checkLandscape, checkRecommendation, decodeRuns, encodeRuns, imageKey, imageRef, summary } from "./workspace";

const model = { name: "EpsilonGammaBox", segments: [{ start: 0, end: 3 }] };

describe("flip masks as runs (saved workspace, issue 18 point 4)", () => {
  it("round-trip a mask with several regions, keeping every label where it was", () => {
    const mask = new Uint8Array(50);
    mask.fill(1, 3, 10);
    mask.fill(3, 10, 12);
    mask[49] = 255;
    const text = encodeRuns(mask);
    expect(text).toBe("0x3,1x7,3x2,0x37,255x1");
    expect(Array.from(decodeRuns(text, 50)!)).toEqual(Array.from(mask));
  });

  it("write an empty mask as one run and a 224-px brushed disc in a few kB", () => {
    expect(encodeRuns(new Uint8Array(224 * 224))).toBe(`0x${224 * 224}`);
    const disc = new Uint8Array(224 * 224);
    for (let y = 0; y < 224; y++) for (let x = 0; x < 224; x++) if ((x - 100) ** 2 + (y - 90) ** 2 < 40 ** 2) disc[y * 224 + x] = 1;
    const text = encodeRuns(disc);
    expect(text.length).toBeLessThan(2000);
    expect(decodeRuns(text, disc.length)).toEqual(disc);
  });

  it("refuse runs that are malformed or do not cover the image exactly", () => {
    expect(decodeRuns("0x3,1x7", 10)).not.toBeNull();
    expect(decodeRuns("0x3,1x7", 11)).toBeNull(); // too short
    expect(decodeRuns("0x3,1x8", 10)).toBeNull(); // too long
    expect(decodeRuns("0x3,,1x7", 10)).toBeNull();
    expect(decodeRuns("256x10", 10)).toBeNull();
    expect(decodeRuns("1x0,0x10", 10)).toBeNull();
    expect(decodeRuns("", 10)).toBeNull();
    expect(decodeRuns("", 0)).toEqual(new Uint8Array(0));
  });
});

describe("images and saved results", () => {
  it("name an upload by its photo id and a sample by its name", () => {
    expect(imageRef({ source: "my cat.png", photo_id: "a".repeat(24) })).toEqual({ kind: "photo", id: "a".repeat(24), name: "my cat.png" });
    expect(imageRef({ source: "chelsea", photo_id: null })).toEqual({ kind: "sample", name: "chelsea" });
    expect(imageKey({ kind: "sample", name: "chelsea" })).not.toBe(imageKey({ kind: "photo", id: "chelsea", name: "chelsea" }));
  });

  it("accept a landscape the view can draw and refuse one it cannot", () => {
    const req = { model, rows: [{ image_id: "x", class_index: 1 }], axes: [{ name: "S1.gamma1p", start: 0, stop: 1, steps: 2 }], metric: "srg" };
    const res = { axes: ["S1.gamma1p"], metric: "srg", higher_is_better: true, shape: [2], best: 0, elapsed_ms: 1, points: [{ index: 0, params: { "S1.gamma1p": 0 }, values: [0.5], mean: 0.5, model }] };
    expect(checkLandscape(req, res)).not.toBeNull();
    expect(checkLandscape({ ...req, axes: [] }, res)).toBeNull();
    expect(checkLandscape(req, { ...res, points: [{ index: 0, params: {}, values: [], mean: "high", model }] })).toBeNull();
    expect(checkLandscape(req, { ...res, points: [{ index: 0, params: {}, values: [], mean: null, model: { name: "no segments" } }] })).toBeNull();
    expect(checkLandscape(null, res)).toBeNull();
  });

  it("accept a recommendation result the view can draw and refuse one it cannot", () => {
    const design = { rank: 1, source: "composite", origin: "", model, means: { srg: 0.1 }, values: { srg: [0.1] }, wins: {}, reason: "" };
    const res = { metrics: [{ metric: "srg", label: "SRG", higher_is_better: true, designs: [design] }], candidates: 5, from_landscapes: 0, rows: 1, default: "x", elapsed_ms: 1 };
    expect(checkRecommendation(res)).toBe(res);
    expect(checkRecommendation({ ...res, metrics: [{ metric: "srg", designs: [{ ...design, model: 3 }] }] })).toBeNull();
    expect(checkRecommendation({ metrics: "srg" })).toBeNull();
  });
});

describe("a saved working set in words", () => {
  it("count what it holds, and say nothing for an empty one", () => {
    const row = { image: { kind: "sample" as const, name: "chelsea" }, class_index: 1, label: "x", start: "logit", start_caption: "logit" };
    const flip = { image: row.image, class_index: 1, rows: [{ size: 1, mask: "0x1" }], brush_radius: 8, curve: null };
    const compare = (rows: (typeof row)[], columns: { id: number; name: string }[] = []) => ({ columns, rows, shared_scale: false, compare_logit: false });
    expect(summary({ compare: compare([row, row]), flip, landscape: null, recommendation: null })).toBe("2 comparison rows, 1 flip row");
    expect(summary({ compare: compare([], [{ id: 1, name: "m" }]) })).toBe("1 compared model");
    expect(summary({ compare: compare([]) })).toBe("nothing");
  });
});
