import { describe, expect, it } from "vitest";
import { absorbedParts, keptWords, segmentSentence, sharePercent } from "./accountingStrip";

const seg = (over: Partial<{ bias: number; stabiliser: number; rule: number; dropped: number }>) => {
  const s = { segment: 0, start: 0, end: 9, bias: 0, stabiliser: 0, rule: 0, dropped: 0, ...over };
  return { ...s, total: s.bias + s.stabiliser + s.rule + s.dropped };
};

describe("relevance accounting in words (issue 18, point 5)", () => {
  it("reads percentages without exponents or signs", () => {
    expect(sharePercent(0.963)).toBe("96 %");
    expect(sharePercent(0.0035)).toBe("0.35 %");
    expect(sharePercent(-5e-4)).toBe("0.05 %");
    expect(sharePercent(3e-6)).toBe("under 0.01 %");
    expect(sharePercent(0)).toBe("0 %");
  });

  it("names each cause in plain words, only the ones that moved relevance", () => {
    expect(absorbedParts(seg({ dropped: 0.96 }))).toEqual(["neurons with nothing to pass to dropped 96 %"]);
    expect(absorbedParts(seg({ bias: 0.2, stabiliser: 3e-6 }))).toEqual(["the bias took 20 %"]);
    expect(absorbedParts(seg({ bias: 0.2, stabiliser: 0.003 }))).toEqual(["the bias took 20 %", "ε took 0.3 %"]);
    expect(absorbedParts(seg({ stabiliser: 3e-6 }))).toEqual(["nothing lost"]);
    expect(absorbedParts(seg({ rule: -0.05 }))).toEqual(["the rule (α − β, filter) added 5 %"]);
    expect(segmentSentence(seg({ bias: 0.2 }))).toBe("S1 (layers 0–9) lost 20 % of the logit");
    expect(keptWords(0.012)).toBe("the input keeps 1.2 % of the logit");
  });
});
