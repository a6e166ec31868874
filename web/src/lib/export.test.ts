import { describe, expect, it } from "vitest";
import type { HeatmapData } from "../api/types";
import { fitLines, heatmapNpy, npyBlob, slug } from "./export";

async function bytes(blob: Blob): Promise<Uint8Array> {
  return new Uint8Array(await blob.arrayBuffer());
}

function text(b: Uint8Array): string {
  return String.fromCharCode(...b);
}

describe("slug", () => {
  it("keeps letters, digits, _ and -, and joins the rest into single dashes", () => {
    expect(slug("EpsilonGammaBox (ZBox · γ 0.25)")).toBe("EpsilonGammaBox-ZBox-0-25");
    expect(slug("my_model-2")).toBe("my_model-2");
    expect(slug("  a  b  ")).toBe("a-b");
  });

  it("drops accents", () => {
    expect(slug("café crème")).toBe("cafe-creme");
  });

  it("falls back when nothing is left, and cuts long names at 80 characters", () => {
    expect(slug("γ · ε")).toBe("export");
    expect(slug("", "heatmap")).toBe("heatmap");
    expect(slug("x".repeat(100))).toBe("x".repeat(80));
  });
});

describe("npyBlob", () => {
  it("writes NumPy's format 1.0: magic, header padded to 64 bytes, little-endian float32 data", async () => {
    const b = await bytes(npyBlob(new Float32Array([1, -2, 0.5, 3]), [2, 2]));
    // The dict is 59 characters; 10 + 59 + 1 (newline) = 70 is padded with 58 spaces to 128.
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
    expect(dict).toHaveLength(59);
    expect(b.length).toBe(128 + 16);
    expect(Array.from(b.slice(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]); // \x93NUMPY 1.0
    expect(b[8] + 256 * b[9]).toBe(118);
    expect(text(b.slice(10, 128))).toBe(dict + " ".repeat(58) + "\n");
    // 1 = 0x3F800000, −2 = 0xC0000000, 0.5 = 0x3F000000, 3 = 0x40400000, each little-endian.
    expect(Array.from(b.slice(128))).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0, 0x3f, 0, 0, 0x40, 0x40]);
  });

  it("writes a one-dimensional shape as a one-element tuple", async () => {
    const b = await bytes(npyBlob(new Float32Array([7]), [1]));
    const hlen = b[8] + 256 * b[9];
    expect((10 + hlen) % 64).toBe(0);
    expect(text(b.slice(10, 10 + hlen)).trimEnd()).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }");
    expect(Array.from(b.slice(10 + hlen))).toEqual([0, 0, 0xe0, 0x40]); // 7 = 0x40E00000
  });

  it("aligns the data to 64 bytes whatever the shape", async () => {
    const cases: [number[], string][] = [
      [[3], "(3,)"],
      [[123456, 1], "(123456, 1)"],
      [[1, 3, 224, 224], "(1, 3, 224, 224)"],
    ];
    for (const [shape, dims] of cases) {
      const b = await bytes(npyBlob(new Float32Array(0), shape));
      const hlen = b[8] + 256 * b[9];
      expect(b.length).toBe(10 + hlen);
      expect(b.length % 64).toBe(0);
      const header = text(b.slice(10));
      expect(header.endsWith("\n")).toBe(true);
      expect(header.trimEnd()).toBe(`{'descr': '<f4', 'fortran_order': False, 'shape': ${dims}, }`);
    }
  });
});

describe("heatmapNpy", () => {
  it("saves the heatmap's decoded values with its shape", async () => {
    // 0.25 = 0x3E800000, −1 = 0xBF800000.
    const h: HeatmapData = { data: btoa("\x00\x00\x80\x3e\x00\x00\x80\xbf"), shape: [1, 2], kind: "map", min: -1, max: 0.25, abs_max: 1, total: -0.75 };
    const b = await bytes(heatmapNpy(h));
    const hlen = b[8] + 256 * b[9];
    expect(text(b.slice(10, 10 + hlen))).toContain("'shape': (1, 2)");
    expect(Array.from(b.slice(10 + hlen))).toEqual([0, 0, 0x80, 0x3e, 0, 0, 0x80, 0xbf]);
  });
});

describe("fitLines", () => {
  /** Every character 6 px wide, "W" 10 px: a stand-in for a proportional font. */
  const measure = (t: string) => Array.from(t).reduce((w, ch) => w + (ch === "W" ? 10 : 6), 0);

  it("keeps a title that fits as it is", () => {
    expect(fitLines("LRP-ε", 60, measure, 2)).toEqual({ lines: ["LRP-ε"], cut: false });
  });

  it("wraps at spaces within the width, every line fitting (the exported grid's column titles)", () => {
    const r = fitLines("EpsilonGammaBox (ZBox · γ 0.25) My 3-seg", 100, measure, 3);
    expect(r).toEqual({ lines: ["EpsilonGammaBox", "(ZBox · γ 0.25)", "My 3-seg"], cut: false });
    for (const line of r.lines) expect(measure(line)).toBeLessThanOrEqual(100);
  });

  it("ends the last line with … within the width when the title needs more lines than allowed", () => {
    const r = fitLines("EpsilonGammaBox (ZBox · γ 0.25) My 3-seg", 100, measure, 2);
    expect(r.cut).toBe(true);
    expect(r.lines).toEqual(["EpsilonGammaBox", "(ZBox · γ 0.25)…"]);
    for (const line of r.lines) expect(measure(line)).toBeLessThanOrEqual(100);
  });

  it("breaks a word wider than the line between characters", () => {
    const r = fitLines("WWWWWWWWWWWW", 50, measure, 3);
    expect(r).toEqual({ lines: ["WWWWW", "WWWWW", "WW"], cut: false });
    const one = fitLines("WWWWWWWWWWWW", 50, measure, 1);
    expect(one).toEqual({ lines: ["WWWW…"], cut: true });
    expect(measure(one.lines[0])).toBeLessThanOrEqual(50);
  });

  it("measures with the real glyph widths, not a character count", () => {
    // 12 characters: 72 px of narrow ones fit in 80 px, 120 px of W do not.
    expect(fitLines("abcdefghijkl", 80, measure).cut).toBe(false);
    expect(fitLines("WWWWWWWWWWWW", 80, measure).lines).toEqual(["WWWWWWW…"]);
  });

  it("gives no line for an empty title", () => {
    expect(fitLines("   ", 80, measure, 2)).toEqual({ lines: [], cut: false });
  });
});
