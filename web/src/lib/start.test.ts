import { describe, expect, it } from "vitest";
import { contrastClass, defaultContrast, parseSpec, startCaption, startSpec } from "./start";

// As /api/info sends them (a subset is enough: the code reads kinds, it names none).
const info = {
  default_start: "logit",
  start_kinds: [
    { name: "logit", spelling: "logit", description: "the target's score, default", takes_class: false },
    { name: "contrastive", spelling: "contrastive:B", description: "target minus class B", takes_class: true },
    { name: "sglrp", spelling: "sglrp", description: "softmax gradient", takes_class: false },
  ],
};
const topk = [
  { index: 282, label: "tiger cat", score: 9.27 },
  { index: 281, label: "tabby", score: 9.26 },
  { index: 285, label: "Egyptian cat", score: 8.1 },
];

describe("the contrast class", () => {
  it("defaults to the second-highest class when the target is the top class", () => {
    expect(defaultContrast(topk, 282)).toBe(281);
  });

  it("defaults to the top class when another class is the target", () => {
    expect(defaultContrast(topk, 281)).toBe(282);
    expect(defaultContrast(topk, 285)).toBe(282);
  });

  it("keeps the picked class, unless it is the target", () => {
    expect(contrastClass({ kind: "contrastive", other: 285 }, topk, 282)).toBe(285);
    expect(contrastClass({ kind: "contrastive", other: 282 }, topk, 282)).toBe(281);
    expect(contrastClass({ kind: "contrastive", other: null }, topk, 282)).toBe(281);
  });

  it("is null without another class", () => {
    expect(defaultContrast([topk[0]], 282)).toBeNull();
  });
});

describe("startSpec", () => {
  it("writes a kind without a class as its name", () => {
    expect(startSpec(info, { kind: "sglrp", other: 5 }, topk, 282)).toBe("sglrp");
  });

  it("writes a contrast with its class", () => {
    expect(startSpec(info, { kind: "contrastive", other: null }, topk, 282)).toBe("contrastive:281");
    expect(startSpec(info, { kind: "contrastive", other: 285 }, topk, 282)).toBe("contrastive:285");
  });

  it("falls back to the server's default", () => {
    expect(startSpec(info, { kind: "nope", other: null }, topk, 282)).toBe("logit");
    expect(startSpec(info, { kind: "contrastive", other: null }, [topk[0]], 282)).toBe("logit");
  });
});

describe("captions", () => {
  it("parses a spec", () => {
    expect(parseSpec("contrastive:281")).toEqual({ kind: "contrastive", other: 281 });
    expect(parseSpec("sglrp")).toEqual({ kind: "sglrp", other: null });
  });

  it("names the contrast class by its label", () => {
    const labelOf = (i: number) => topk.find((p) => p.index === i)?.label;
    expect(startCaption("contrastive:281", labelOf)).toBe("contrastive vs “tabby”");
    expect(startCaption("contrastive:7", labelOf)).toBe("contrastive vs “class 7”");
    expect(startCaption("logit", labelOf)).toBe("logit");
  });
});
