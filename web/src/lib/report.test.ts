import { describe, expect, it } from "vitest";
import { ruleLatex } from "./formula";
import { buildReport, escapeHtml, type ReportData } from "./report";

/** The default composite's γ rule: γ1p = 0.25, ε = 1e-6 (LRP-0 otherwise). */
const GAMMA_LATEX = ruleLatex({ alpha: 1, beta: 0, epsilon: 1e-6, theta0: 0, theta1: 1, gamma0: 0, gamma1: 1, gamma1p: 0.25, gamma1n: 0, gamma2: 0 });

function data(over: Partial<ReportData> = {}): ReportData {
  return {
    title: "Comparison",
    network: "efficientnet_lite0",
    colormap: "blue-white-red",
    scale: "own scale per cell",
    generated: "2025-01-01 12:00 UTC",
    columns: [
      {
        name: "EpsilonGammaBox",
        draft: null,
        includeBias: true,
        inputRule: "ZBox",
        segments: [
          { range: "S1: layers 0–9", rule: "custom (γ1p=0.5, ε=1e-6)", color: "#123456", latex: GAMMA_LATEX },
        ],
        warnings: [],
      },
    ],
    rows: [{ image: "data:image/png;base64,AA==", source: "sample:chelsea", label: "tabby", classIndex: 281, score: 12.3456 }],
    cells: [{ row: 0, column: 0, image: "data:image/png;base64,AA==", total: 0.000123456, badge: null }],
    metrics: [],
    suite: null,
    ...over,
  };
}

describe("escapeHtml", () => {
  it("escapes the five HTML specials", () => {
    expect(escapeHtml(`<a href="x">Tom & Jerry's</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
  });
});

describe("buildReport", () => {
  it("keeps ε = 1e-6 in the formula's MathML and in the rule text (issue 18: not '0 +')", () => {
    const html = buildReport(data());
    // KaTeX keeps the TeX source as an annotation beside the MathML.
    expect(html).toContain("{10^{-6} + \\sum_i (a_i\\,(w_{ij} + 0.25\\,w_{ij}^{+}))}");
    expect(html).toContain("<mn>10</mn>");
    expect(html).toContain("custom (γ1p=0.5, ε=1e-6)");
    expect(html).not.toMatch(/<mn>0<\/mn><mo>\+<\/mo>/);
  });

  it("writes the numbers with four significant digits", () => {
    const html = buildReport(data());
    expect(html).toContain("score 12.35");
    // ΣR = 0.000123456 → 1.235e-4; its share of the score 100 · 0.000123456 / 12.3456 = 0.001 %.
    expect(html).toContain("ΣR = 1.235e-4 (0.001 % of the score)");
  });

  it("stars the best model of each metric", () => {
    const html = buildReport(
      data({
        columns: [data().columns[0], { ...data().columns[0], name: "Other" }],
        suite: { fill: "blur", metrics: [{ label: "SRG", higherIsBetter: true, means: [0.5, 0.25], best: 0 }] },
      }),
    );
    expect(html).toContain('<td class="best">0.5 ★</td><td>0.25</td>');
  });
});
