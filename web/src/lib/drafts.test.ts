import { describe, expect, it } from "vitest";
import type { LRPModel, RuleParams } from "../api/types";
import { differences, draftName, nameRoot, sameDesign } from "./drafts";

const rule = (over: Partial<RuleParams> = {}): RuleParams =>
  ({ alpha: 1, beta: 0, epsilon: 1e-6, theta0: 0, theta1: 1, gamma0: 0, gamma1: 1, gamma1p: 0, gamma1n: 0, gamma2: 0, ...over }) as RuleParams;

const model = (name: string, rules: Partial<RuleParams>[], bias = false): LRPModel =>
  ({
    name,
    version: 2,
    include_bias: bias,
    segments: rules.map((r, k) => ({ start: 10 * k, end: 10 * k + 9, preset: null, attention: "cp", layernorm: "constant-std", rule: rule(r) })),
  }) as LRPModel;

describe("draft names (issue 18, point 3)", () => {
  const base = model("EpsilonGammaBox (ε 1e-6, γ 0.25)", [{ gamma1p: 0.25 }]);

  it("name a landscape point after its base and what differs, never after the base's stale description", () => {
    const point = model("EpsilonGammaBox (ε 1e-6, γ 0.25) · S1.gamma1p=1", [{ gamma1p: 1 }]);
    expect(draftName(point, base)).toBe("EpsilonGammaBox · γ₁₊=1 (draft)");
  });

  it("name segments and the bias when there are several", () => {
    const two = model("My", [{}, { epsilon: 0.1 }], true);
    expect(differences(two, model("My", [{}, {}]))).toEqual(["S2 ε=0.1", "bias on"]);
  });

  it("drop a description whole, even one holding ' · '", () => {
    expect(nameRoot("EpsilonGammaBox (ZBox · ε 1e-6 · γ 0.25) · S1.gamma1p=1")).toBe("EpsilonGammaBox");
  });

  it("a recommendation with no base keeps its own root name", () => {
    expect(draftName(model("EpsilonPlusFlat", [{}]), null)).toBe("EpsilonPlusFlat (draft)");
    expect(nameRoot("EpsilonGammaBox · γ₁₊=1 (draft) 2")).toBe("EpsilonGammaBox");
  });

  it("same design ignores the name", () => {
    expect(sameDesign(model("a", [{}]), model("b", [{}]))).toBe(true);
    expect(sameDesign(model("a", [{}]), model("a", [{ epsilon: 0 }]))).toBe(false);
  });
});
