import { describe, expect, it } from "vitest";
import type { LRPModel, PresetInfo, RuleParams, Segment } from "../api/types";
import {
  clone,
  draftChanges,
  matchPreset,
  moveBoundary,
  removeSegment,
  ruleChange,
  ruleOf,
  ruleSummary,
  sameModel,
  setRule,
  splitSegment,
} from "./segments";

const LRP0: RuleParams = { alpha: 1, beta: 0, epsilon: 0, theta0: 0, theta1: 1, gamma0: 0, gamma1: 1, gamma1p: 0, gamma1n: 0, gamma2: 0 };
const GAMMA: RuleParams = { ...LRP0, gamma1p: 0.25, epsilon: 1e-6 };
const EPS: RuleParams = { ...LRP0, epsilon: 1e-6 };

const LABELS: Record<string, string> = { gamma: "LRP-γ", epsilon: "LRP-ε", flat: "LRP-flat" };
const label = (p: string | null | undefined) => (p ? (LABELS[p] ?? p) : "custom");

/** The default composite's shape: γ on layers 0–9 and 10–19, ε on 20–24. */
function model(): LRPModel {
  return {
    name: "EpsilonGammaBox",
    include_bias: true,
    input_rule: { kind: "zbox", low: null, high: null },
    segments: [
      { start: 0, end: 9, preset: "gamma", rule: { ...GAMMA } },
      { start: 10, end: 19, preset: "gamma", rule: { ...GAMMA } },
      { start: 20, end: 24, preset: "epsilon", rule: { ...EPS } },
    ],
  };
}

const ranges = (m: LRPModel) => m.segments.map((s) => [s.start, s.end]);

describe("ruleOf and clone", () => {
  it("fills an omitted rule with LRP-0 and keeps given values", () => {
    expect(ruleOf({ start: 0, end: 3 })).toEqual(LRP0);
    expect(ruleOf({ start: 0, end: 3, rule: { ...LRP0, beta: 1 } }).beta).toBe(1);
  });

  it("copies deeply", () => {
    const m = model();
    const c = clone(m);
    c.segments[0].rule!.epsilon = 5;
    expect(m.segments[0].rule!.epsilon).toBe(1e-6);
  });
});

describe("segment edits", () => {
  it("moves a boundary and keeps every segment at least one layer long", () => {
    const m = model();
    expect(ranges(moveBoundary(m, 0, 5))).toEqual([[0, 4], [5, 19], [20, 24]]);
    expect(ranges(moveBoundary(m, 0, 0))).toEqual([[0, 0], [1, 19], [20, 24]]);
    expect(ranges(moveBoundary(m, 0, 30))).toEqual([[0, 18], [19, 19], [20, 24]]);
    expect(ranges(moveBoundary(m, 1, 21.6))).toEqual([[0, 9], [10, 21], [22, 24]]);
    expect(ranges(moveBoundary(m, 2, 22))).toEqual(ranges(m)); // no segment after the last
    expect(ranges(m)).toEqual([[0, 9], [10, 19], [20, 24]]); // the input is left alone
  });

  it("splits a segment in the middle, both halves with its rule", () => {
    const out = splitSegment(model(), 2); // layers 20..24: 20–21 and 22–24
    expect(ranges(out)).toEqual([[0, 9], [10, 19], [20, 21], [22, 24]]);
    expect(out.segments[3].rule).toEqual(EPS);
    expect(out.segments[3].preset).toBe("epsilon");
    out.segments[3].rule!.epsilon = 2;
    expect(out.segments[2].rule!.epsilon).toBe(1e-6);
  });

  it("does not split a one-layer segment", () => {
    const m = moveBoundary(model(), 0, 1); // segment 0 is layer 0 alone
    expect(ranges(splitSegment(m, 0))).toEqual(ranges(m));
  });

  it("gives a removed segment's layers to the previous segment, or the next for the first", () => {
    expect(ranges(removeSegment(model(), 1))).toEqual([[0, 19], [20, 24]]);
    expect(ranges(removeSegment(model(), 0))).toEqual([[0, 19], [20, 24]]);
    const first = removeSegment(model(), 0);
    expect(first.segments[0].preset).toBe("gamma"); // the second segment (γ) now starts at 0
    const one: LRPModel = { ...model(), segments: [{ start: 0, end: 24 }] };
    expect(ranges(removeSegment(one, 0))).toEqual([[0, 24]]);
  });

  it("sets a rule and its preset on one segment only", () => {
    const out = setRule(model(), 1, { ...LRP0, epsilon: 0.25 }, "epsilon");
    expect(out.segments[1]).toEqual({ start: 10, end: 19, preset: "epsilon", rule: { ...LRP0, epsilon: 0.25 } });
    expect(out.segments[0].rule).toEqual(GAMMA);
  });
});

describe("matchPreset", () => {
  const preset = (name: string, params: RuleParams): PresetInfo => ({ name, label: name, reference: "", latex: "", params });
  const presets = [preset("lrp-0", LRP0), preset("epsilon", { ...LRP0, epsilon: 0.25 }), preset("gamma", { ...LRP0, gamma1p: 0.25 })];

  it("names the preset with exactly these parameters", () => {
    expect(matchPreset({ ...LRP0, gamma1p: 0.25 }, presets)).toBe("gamma");
    expect(matchPreset(LRP0, presets)).toBe("lrp-0");
  });

  it("calls a rule custom when one parameter is off, however little", () => {
    expect(matchPreset({ ...LRP0, gamma1p: 0.25, epsilon: 1e-6 }, presets)).toBe("custom");
  });

  it("prefers the given preset among equal ones", () => {
    const twins = [...presets, preset("z-plus-twin", { ...LRP0, gamma1p: 0.25 })];
    expect(matchPreset({ ...LRP0, gamma1p: 0.25 }, twins, "z-plus-twin")).toBe("z-plus-twin");
    expect(matchPreset({ ...LRP0, gamma1p: 0.25 }, twins, "epsilon")).toBe("gamma");
  });
});

describe("sameModel", () => {
  it("ignores key order and sees a change of 1e-6", () => {
    const m = model();
    const reordered = JSON.parse(
      '{"segments":[{"rule":{"epsilon":1e-6,"gamma1p":0.25,"alpha":1,"beta":0,"theta0":0,"theta1":1,"gamma0":0,"gamma1":1,"gamma1n":0,"gamma2":0},"preset":"gamma","end":9,"start":0},' +
        '{"end":19,"start":10,"preset":"gamma","rule":{"alpha":1,"beta":0,"epsilon":1e-6,"theta0":0,"theta1":1,"gamma0":0,"gamma1":1,"gamma1p":0.25,"gamma1n":0,"gamma2":0}},' +
        '{"start":20,"end":24,"preset":"epsilon","rule":{"alpha":1,"beta":0,"epsilon":1e-6,"theta0":0,"theta1":1,"gamma0":0,"gamma1":1,"gamma1p":0,"gamma1n":0,"gamma2":0}}],' +
        '"input_rule":{"high":null,"kind":"zbox","low":null},"include_bias":true,"name":"EpsilonGammaBox"}',
    ) as LRPModel;
    expect(sameModel(m, reordered)).toBe(true);
    expect(sameModel(m, setRule(m, 2, { ...EPS, epsilon: 0 }, "custom"))).toBe(false);
  });
});

describe("ruleSummary", () => {
  it("uses the preset's label", () => {
    expect(ruleSummary({ start: 0, end: 1, preset: "gamma", rule: GAMMA }, label)).toBe("LRP-γ");
  });

  it("lists a custom rule's parameters away from LRP-0 with significant digits (issue 18: not ε=0)", () => {
    const seg: Segment = { start: 0, end: 1, preset: "custom", rule: { ...GAMMA, gamma1p: 0.5 } };
    expect(ruleSummary(seg, label)).toBe("custom (γ1p=0.5, ε=1e-6)");
    expect(ruleSummary({ start: 0, end: 1, preset: "custom", rule: { ...LRP0, theta0: 1, theta1: 0, epsilon: 2.5e-4 } }, label)).toBe(
      "custom (θ0=1, θ1=0, ε=2.5e-4)",
    );
    expect(ruleSummary({ start: 0, end: 1, preset: "custom", rule: LRP0 }, label)).toBe("custom (LRP-0)");
    expect(ruleSummary({ start: 0, end: 1 }, label)).toBe("custom (LRP-0)");
  });
});

describe("ruleChange", () => {
  const seg = (rule: RuleParams, preset = "custom"): Segment => ({ start: 0, end: 9, preset, rule });

  it("lists only the parameters whose numbers changed", () => {
    expect(ruleChange(seg({ ...GAMMA, gamma1p: 0.5 }), seg(GAMMA, "gamma"), label)).toBe("custom (γ1p=0.5)");
    expect(ruleChange(seg({ ...GAMMA, gamma1p: 0.5, alpha: 2 }), seg(GAMMA, "gamma"), label)).toBe("custom (α=2, γ1p=0.5)");
  });

  it("lists ε 1e-6 → 0 as a change, and writes it apart from the old value", () => {
    expect(ruleChange(seg({ ...GAMMA, epsilon: 0 }), seg(GAMMA, "gamma"), label)).toBe("custom (ε=0)");
    expect(ruleChange(seg({ ...GAMMA, epsilon: 1.00001e-6 }), seg(GAMMA, "gamma"), label)).toBe("custom (ε=1.00001e-6)");
  });

  it("uses the new preset's label when there is one", () => {
    expect(ruleChange(seg({ ...LRP0, epsilon: 0.25 }, "epsilon"), seg(GAMMA, "gamma"), label)).toBe("LRP-ε");
  });
});

describe("draftChanges", () => {
  it("is null when the draft equals the saved model, or nothing is saved", () => {
    expect(draftChanges(model(), model(), label)).toBeNull();
    expect(draftChanges(model(), undefined, label)).toBeNull();
  });

  it("names the changed parameter only: γ1p = 0.5 does not list the unchanged ε = 1e-6 (issue 18)", () => {
    const draft = setRule(model(), 0, { ...GAMMA, gamma1p: 0.5 }, "custom");
    expect(draftChanges(draft, model(), label)).toBe("S1 custom (γ1p=0.5)");
  });

  it("sees ε 1e-6 → 0 as a change", () => {
    const draft = setRule(model(), 2, { ...EPS, epsilon: 0 }, "custom");
    expect(draftChanges(draft, model(), label)).toBe("S3 custom (ε=0)");
  });

  it("names a preset change by its label", () => {
    const draft = setRule(model(), 1, { ...LRP0, theta0: 1, theta1: 0, gamma0: 1, gamma1: 0, epsilon: 1e-6 }, "flat");
    expect(draftChanges(draft, model(), label)).toBe("S2 LRP-flat");
  });

  it("lists every segment with its range when a boundary moved", () => {
    const draft = moveBoundary(model(), 1, 22);
    expect(draftChanges(draft, model(), label)).toBe("S1 0–9 LRP-γ · S2 10–21 LRP-γ · S3 22–24 LRP-ε");
  });

  it("names the bias and ZBox switches", () => {
    const draft: LRPModel = { ...model(), include_bias: false, input_rule: null };
    expect(draftChanges(draft, model(), label)).toBe("bias off · ZBox off");
  });

  it("says 'edited' for a change it has no words for", () => {
    const draft: LRPModel = { ...model(), input_rule: { kind: "zbox", low: 0, high: 1 } };
    expect(draftChanges(draft, model(), label)).toBe("edited");
  });
});
