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
  partDefaults,
  sameModel,
  setPart,
  setRule,
  splitAt,
  splitSegment,
  withPartDefaults,
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
    version: 2,
    segments: [
      seg(0, 9, { preset: "gamma", rule: { ...GAMMA } }),
      seg(10, 19, { preset: "gamma", rule: { ...GAMMA } }),
      seg(20, 24, { preset: "epsilon", rule: { ...EPS } }),
    ],
  };
}

/** The fields contract version 2 adds to every segment, at their defaults. */
const CP = { attention: "cp", layernorm: "constant-std" } as const;

/** A segment as the contract requires it (attention and LayerNorm rules at their defaults unless given). */
function seg(start: number, end: number, extra: Partial<Segment> = {}): Segment {
  return { start, end, ...CP, ...extra };
}

const ranges = (m: LRPModel) => m.segments.map((s) => [s.start, s.end]);

describe("ruleOf and clone", () => {
  it("fills an omitted rule with LRP-0 and keeps given values", () => {
    expect(ruleOf(seg(0, 3))).toEqual(LRP0);
    expect(ruleOf(seg(0, 3, { rule: { ...LRP0, beta: 1 } })).beta).toBe(1);
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
    const one: LRPModel = { ...model(), segments: [seg(0, 24)] };
    expect(ranges(removeSegment(one, 0))).toEqual([[0, 24]]);
  });

  it("sets a rule and its preset on one segment only", () => {
    const out = setRule(model(), 1, { ...LRP0, epsilon: 0.25 }, "epsilon");
    expect(out.segments[1]).toEqual({ start: 10, end: 19, ...CP, preset: "epsilon", rule: { ...LRP0, epsilon: 0.25 } });
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
      '{"segments":[{"rule":{"epsilon":1e-6,"gamma1p":0.25,"alpha":1,"beta":0,"theta0":0,"theta1":1,"gamma0":0,"gamma1":1,"gamma1n":0,"gamma2":0},"preset":"gamma","layernorm":"constant-std","end":9,"start":0,"attention":"cp"},' +
        '{"attention":"cp","end":19,"start":10,"layernorm":"constant-std","preset":"gamma","rule":{"alpha":1,"beta":0,"epsilon":1e-6,"theta0":0,"theta1":1,"gamma0":0,"gamma1":1,"gamma1p":0.25,"gamma1n":0,"gamma2":0}},' +
        '{"start":20,"end":24,"layernorm":"constant-std","attention":"cp","preset":"epsilon","rule":{"alpha":1,"beta":0,"epsilon":1e-6,"theta0":0,"theta1":1,"gamma0":0,"gamma1":1,"gamma1p":0,"gamma1n":0,"gamma2":0}}],' +
        '"input_rule":{"high":null,"kind":"zbox","low":null},"include_bias":true,"version":2,"name":"EpsilonGammaBox"}',
    ) as LRPModel;
    expect(sameModel(m, reordered)).toBe(true);
    expect(sameModel(m, setRule(m, 2, { ...EPS, epsilon: 0 }, "custom"))).toBe(false);
    expect(sameModel(m, setPart(m, 2, "attention", "attnlrp"))).toBe(false);
  });
});

describe("ruleSummary", () => {
  it("uses the preset's label", () => {
    expect(ruleSummary(seg(0, 1, { preset: "gamma", rule: GAMMA }), label)).toBe("LRP-γ");
  });

  it("lists a custom rule's parameters away from LRP-0 with significant digits (issue 18: not ε=0)", () => {
    const custom = seg(0, 1, { preset: "custom", rule: { ...GAMMA, gamma1p: 0.5 } });
    expect(ruleSummary(custom, label)).toBe("custom (γ1p=0.5, ε=1e-6)");
    expect(ruleSummary(seg(0, 1, { preset: "custom", rule: { ...LRP0, theta0: 1, theta1: 0, epsilon: 2.5e-4 } }), label)).toBe(
      "custom (θ0=1, θ1=0, ε=2.5e-4)",
    );
    expect(ruleSummary(seg(0, 1, { preset: "custom", rule: LRP0 }), label)).toBe("custom (LRP-0)");
    expect(ruleSummary(seg(0, 1), label)).toBe("custom (LRP-0)");
  });
});

describe("ruleChange", () => {
  const rseg = (rule: RuleParams, preset = "custom"): Segment => seg(0, 9, { preset, rule });

  it("lists only the parameters whose numbers changed", () => {
    expect(ruleChange(rseg({ ...GAMMA, gamma1p: 0.5 }), rseg(GAMMA, "gamma"), label)).toBe("custom (γ1p=0.5)");
    expect(ruleChange(rseg({ ...GAMMA, gamma1p: 0.5, alpha: 2 }), rseg(GAMMA, "gamma"), label)).toBe("custom (α=2, γ1p=0.5)");
  });

  it("lists ε 1e-6 → 0 as a change, and writes it apart from the old value", () => {
    expect(ruleChange(rseg({ ...GAMMA, epsilon: 0 }), rseg(GAMMA, "gamma"), label)).toBe("custom (ε=0)");
    expect(ruleChange(rseg({ ...GAMMA, epsilon: 1.00001e-6 }), rseg(GAMMA, "gamma"), label)).toBe("custom (ε=1.00001e-6)");
  });

  it("uses the new preset's label when there is one", () => {
    expect(ruleChange(rseg({ ...LRP0, epsilon: 0.25 }, "epsilon"), rseg(GAMMA, "gamma"), label)).toBe("LRP-ε");
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

describe("attention and LayerNorm rules of a segment (contract version 2)", () => {
  const attn = (m: LRPModel) => m.segments.map((s) => [s.attention, s.layernorm]);

  it("a split copies the parent's attention and LayerNorm rules into both halves", () => {
    const m = setPart(setPart(model(), 1, "attention", "attnlrp"), 1, "layernorm", "identity");
    const out = splitSegment(m, 1);
    expect(ranges(out)).toEqual([[0, 9], [10, 14], [15, 19], [20, 24]]);
    expect(attn(out)).toEqual([["cp", "constant-std"], ["attnlrp", "identity"], ["attnlrp", "identity"], ["cp", "constant-std"]]);
    expect(out.segments[2].preset).toBe("gamma");
  });

  it("splitAt starts a new segment at a given layer (a block boundary), a copy of the one it came from", () => {
    const m = setPart(model(), 1, "attention", "attnlrp");
    const out = splitAt(m, 13);
    expect(ranges(out)).toEqual([[0, 9], [10, 12], [13, 19], [20, 24]]);
    expect(attn(out)[2]).toEqual(["attnlrp", "constant-std"]);
    expect(out.segments[2].rule).toEqual(GAMMA);
    out.segments[2].rule!.gamma1p = 1;
    expect(out.segments[1].rule!.gamma1p).toBe(0.25);
    expect(ranges(splitAt(m, 10))).toEqual(ranges(m)); // a segment already starts there
    expect(ranges(splitAt(m, 99))).toEqual(ranges(m)); // no segment holds it
  });

  it("a merge keeps the left segment's rules", () => {
    const m = setPart(setPart(model(), 0, "attention", "attnlrp"), 1, "layernorm", "identity");
    const out = removeSegment(m, 1); // segment 1's layers go to segment 0
    expect(ranges(out)).toEqual([[0, 19], [20, 24]]);
    expect(attn(out)).toEqual([["attnlrp", "constant-std"], ["cp", "constant-std"]]);
  });

  it("a preset or slider edit leaves the attention and LayerNorm rules alone", () => {
    const m = setPart(model(), 2, "attention", "attnlrp");
    expect(setRule(m, 2, LRP0, "lrp-0").segments[2].attention).toBe("attnlrp");
  });

  it("setPart changes one field of one segment", () => {
    const out = setPart(model(), 2, "layernorm", "identity");
    expect(attn(out)).toEqual([["cp", "constant-std"], ["cp", "constant-std"], ["cp", "identity"]]);
    expect(model().segments[2].layernorm).toBe("constant-std");
  });

  it("defaults come from the default model's segment holding the layer", () => {
    const defaults = setPart(model(), 2, "attention", "attnlrp");
    expect(partDefaults(defaults, 3)).toEqual(CP);
    expect(partDefaults(defaults, 22)).toEqual({ attention: "attnlrp", layernorm: "constant-std" });
    expect(partDefaults(defaults, 99)).toEqual(CP); // past the end: the first segment's
  });

  it("a JSON import without the fields gets the defaults; given fields stay; other JSON is left to the server", () => {
    const defaults = setPart(model(), 2, "attention", "attnlrp");
    const old = { name: "v1", include_bias: true, segments: [{ start: 0, end: 19, preset: "gamma" }, { start: 20, end: 24, layernorm: "identity" }] };
    expect(withPartDefaults(old, defaults)).toEqual({
      name: "v1",
      include_bias: true,
      segments: [
        { start: 0, end: 19, preset: "gamma", attention: "cp", layernorm: "constant-std" },
        { start: 20, end: 24, attention: "attnlrp", layernorm: "identity" },
      ],
    });
    expect(withPartDefaults([old, old], defaults)).toEqual([withPartDefaults(old, defaults), withPartDefaults(old, defaults)]);
    expect(withPartDefaults({ name: "no segments" }, defaults)).toEqual({ name: "no segments" });
    expect(withPartDefaults(42, defaults)).toBe(42);
    expect(withPartDefaults({ segments: [null, "x"] }, defaults)).toEqual({ segments: [null, "x"] });
  });

  it("the draft label names a changed attention or LayerNorm rule", () => {
    const partLabel = (part: string, name: string) => `${part === "attention" ? "attention" : "LayerNorm"} ${name === "attnlrp" ? "AttnLRP" : name}`;
    const draft = setPart(model(), 1, "attention", "attnlrp");
    expect(draftChanges(draft, model(), label, partLabel)).toBe("S2 attention AttnLRP");
    const both = setRule(setPart(draft, 1, "layernorm", "identity"), 1, { ...GAMMA, gamma1p: 0.5 }, "custom");
    expect(draftChanges(both, model(), label, partLabel)).toBe("S2 custom (γ1p=0.5), attention AttnLRP, LayerNorm identity");
    expect(draftChanges(draft, model(), label)).toBe("S2 attention attnlrp");
  });

  it("after a split, names the attention rule that differs from the saved segment holding the same layers", () => {
    const partLabel = (_: string, name: string) => `attention ${name}`;
    const draft = setPart(splitAt(model(), 15), 2, "attention", "attnlrp");
    expect(draftChanges(draft, model(), label, partLabel)).toBe(
      "S1 0–9 LRP-γ · S2 10–14 LRP-γ · S3 15–19 LRP-γ, attention attnlrp · S4 20–24 LRP-ε",
    );
  });
});
