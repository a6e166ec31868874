import { describe, expect, it } from "vitest";
import type { RuleParams } from "../api/types";
import { ruleLatex } from "./formula";

/** LRP-0 (α = 1, θ1 = 1, γ1 = 1, the rest 0) with some parameters changed. */
function rule(over: Partial<RuleParams> = {}): RuleParams {
  return { alpha: 1, beta: 0, epsilon: 0, theta0: 0, theta1: 1, gamma0: 0, gamma1: 1, gamma1p: 0, gamma1n: 0, gamma2: 0, ...over };
}

describe("ruleLatex", () => {
  it("writes LRP-0 as a_i w_ij over its sum", () => {
    expect(ruleLatex(rule())).toBe("R_i = \\sum_j \\frac{a_i\\,w_{ij}}{\\sum_i a_i\\,w_{ij}}\\, R_j");
  });

  it("writes the default composite's ε = 1e-6 as 10^{-6}, not 0 (issue 18)", () => {
    const latex = ruleLatex(rule({ gamma1p: 0.25, epsilon: 1e-6 }));
    expect(latex).toBe(
      "R_i = \\sum_j \\frac{a_i\\,(w_{ij} + 0.25\\,w_{ij}^{+})}{10^{-6} + \\sum_i (a_i\\,(w_{ij} + 0.25\\,w_{ij}^{+}))}\\, R_j",
    );
    expect(latex).not.toMatch(/[{ ]0 \+/);
  });

  it("writes ε with significant digits", () => {
    const den = (eps: number) => ruleLatex(rule({ epsilon: eps })).match(/\\frac\{a_i\\,w_\{ij\}\}\{(.*) \+ \\sum_i/)?.[1];
    expect(den(0.25)).toBe("0.25");
    expect(den(2.5e-4)).toBe("2.5\\cdot10^{-4}");
    expect(den(1e-7)).toBe("10^{-7}");
    expect(den(0.0001234)).toBe("1.234\\cdot10^{-4}");
    expect(den(3)).toBe("3");
  });

  it("leaves ε out of the denominator when it is exactly 0", () => {
    expect(ruleLatex(rule({ epsilon: 0 }))).not.toContain(" + \\sum_i");
  });

  it("writes α2β1 as the difference of the positive and negative parts", () => {
    const latex = ruleLatex(rule({ alpha: 2, beta: 1, gamma1: 0, gamma1p: 1, gamma1n: 1 }));
    expect(latex).toBe(
      "R_i = \\sum_j \\left[2\\,\\frac{a_i\\,w_{ij}^{+}}{\\sum_i a_i\\,w_{ij}^{+}} - \\frac{a_i\\,w_{ij}^{-}}{\\sum_i a_i\\,w_{ij}^{-}}\\right]\\, R_j",
    );
  });

  it("writes a negative-only rule (α = 0) with a leading minus", () => {
    expect(ruleLatex(rule({ alpha: 0, beta: 1, gamma1: 0, gamma1n: 1 }))).toBe(
      "R_i = \\sum_j -\\frac{a_i\\,w_{ij}^{-}}{\\sum_i a_i\\,w_{ij}^{-}}\\, R_j",
    );
  });

  it("writes flat as 1 over the sum of ones, and w² without the activation", () => {
    expect(ruleLatex(rule({ theta0: 1, theta1: 0, gamma0: 1, gamma1: 0 }))).toBe("R_i = \\sum_j \\frac{1}{\\sum_i 1}\\, R_j");
    expect(ruleLatex(rule({ theta0: 1, theta1: 0, gamma1: 0, gamma2: 1 }))).toBe(
      "R_i = \\sum_j \\frac{w_{ij}^2}{\\sum_i w_{ij}^2}\\, R_j",
    );
  });

  it("writes every non-zero term with its coefficient, small ones included", () => {
    const latex = ruleLatex(rule({ theta0: 0.5, theta1: 0.75, gamma0: 1e-5, gamma1: 0.5, gamma1p: 2, gamma2: 0.1 }));
    const z = "(0.5 + 0.75\\,a_i)\\,(10^{-5} + 0.5\\,w_{ij} + 2\\,w_{ij}^{+} + 0.1\\,w_{ij}^2)";
    expect(latex).toBe(`R_i = \\sum_j \\frac{${z}}{\\sum_i ${z}}\\, R_j`);
  });

  it("never rounds a parameter to 0", () => {
    for (const eps of [1e-3, 4e-4, 1e-6, 1e-9]) {
      expect(ruleLatex(rule({ epsilon: eps }))).not.toMatch(/\{0 \+/);
    }
  });
});
