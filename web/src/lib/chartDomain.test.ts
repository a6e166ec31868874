import { describe, expect, it } from "vitest";
import { BRUSH_PAD, inset, valueDomain } from "./chartDomain";

describe("valueDomain", () => {
  it("ends at 0 when every value is negative, scaled to the data (not a fixed 0–1)", () => {
    expect(valueDomain([-2e-5, -1e-6, -3e-5])).toEqual([-3e-5, 0]);
    expect(valueDomain([-0.4, 0])).toEqual([-0.4, 0]);
  });

  it("starts at 0 when every value is positive, and spans both signs when there are both", () => {
    expect(valueDomain([1e-7, 3e-7])).toEqual([0, 3e-7]);
    expect(valueDomain([-1, 2.5])).toEqual([-1, 2.5]);
  });

  it("is [0, 1] only when there is nothing to scale to", () => {
    expect(valueDomain([])).toEqual([0, 1]);
    expect(valueDomain([0, -0, 0])).toEqual([0, 1]);
    expect(valueDomain([NaN, Infinity])).toEqual([0, 1]);
  });

  it("ignores non-finite values", () => {
    expect(valueDomain([NaN, -2, -Infinity])).toEqual([-2, 0]);
  });
});

describe("inset", () => {
  it("keeps BRUSH_PAD pixels between the outermost points and the brushable edges, in either direction", () => {
    expect(inset(16, 140)).toEqual([16 + BRUSH_PAD, 140 - BRUSH_PAD]);
    expect(inset(140, 16)).toEqual([140 - BRUSH_PAD, 16 + BRUSH_PAD]); // a y range runs bottom to top
    expect(BRUSH_PAD).toBeGreaterThanOrEqual(4); // more than a selected point's radius (3.5 px)
  });

  it("never pads a short interval by more than a quarter of it", () => {
    expect(inset(0, 20, 8)).toEqual([5, 15]);
  });
});
