import { describe, expect, it } from "vitest";
import type { LayerInfo } from "../api/types";
import { blocksOf, layersOf, neuronUnit, partLabel, partsIn, unitWord } from "./layers";

const layer = (index: number, name: string, kind: string, shape: number[], block: number | null = null): LayerInfo => ({ index, name, kind, shape, block });

/** The layer table of a two-block ViT as /api/info gives it (names as the engine writes attention out). */
const VIT: LayerInfo[] = [
  layer(0, "conv_proj", "Conv", [64, 8, 8]),
  layer(1, "cat", "Concat", [65, 64]),
  layer(2, "encoder.layers.encoder_layer_0.ln_1", "LayerNorm", [65, 64], 0),
  layer(3, "encoder.layers.encoder_layer_0.self_attention.q_proj", "Linear", [65, 64], 0),
  layer(4, "encoder.layers.encoder_layer_0.self_attention.scores", "MatMul", [4, 65, 65], 0),
  layer(5, "encoder.layers.encoder_layer_0.self_attention.softmax", "Softmax", [4, 65, 65], 0),
  layer(6, "encoder.layers.encoder_layer_0.self_attention.heads", "MatMul", [4, 65, 16], 0),
  layer(7, "encoder.layers.encoder_layer_0.self_attention.out_proj", "Linear", [65, 64], 0),
  layer(8, "encoder.layers.encoder_layer_0.mlp.0", "Linear", [65, 128], 0),
  layer(9, "encoder.layers.encoder_layer_1.ln_1", "LayerNorm", [65, 64], 1),
  layer(10, "encoder.layers.encoder_layer_1.self_attention.heads", "MatMul", [4, 65, 16], 1),
  layer(11, "encoder.layers.encoder_layer_1.mlp.3", "Linear", [65, 64], 1),
  layer(12, "encoder.ln", "LayerNorm", [65, 64]),
  layer(13, "heads.head", "Linear", [10]),
];

const CNN: LayerInfo[] = [layer(0, "features.0", "Conv", [16, 32, 32]), layer(1, "features.1", "ReLU", [16, 32, 32]), layer(2, "classifier", "Linear", [10])];

const INFO = {
  attention_rules: [
    { name: "cp", label: "CP-LRP", reference: "", latex: "", description: "" },
    { name: "attnlrp", label: "AttnLRP", reference: "", latex: "", description: "" },
  ],
  layernorm_rules: [
    { name: "constant-std", label: "σ constant", reference: "", latex: "", description: "" },
    { name: "identity", label: "identity", reference: "", latex: "", description: "" },
  ],
};

describe("partsIn: which transformer rules a segment needs", () => {
  it("finds attention (MatMul, Softmax) and LayerNorm layers in a segment's range", () => {
    expect(partsIn(VIT, { start: 0, end: 13 })).toEqual(["attention", "layernorm"]);
    expect(partsIn(VIT, { start: 0, end: 2 })).toEqual(["layernorm"]);
    expect(partsIn(VIT, { start: 3, end: 8 })).toEqual(["attention"]);
    expect(partsIn(VIT, { start: 5, end: 5 })).toEqual(["attention"]); // the softmax alone
    expect(partsIn(VIT, { start: 13, end: 13 })).toEqual([]);
    expect(layersOf(VIT, { start: 12, end: 13 }).map((l) => l.index)).toEqual([12, 13]);
  });

  it("offers nothing for a CNN", () => {
    expect(partsIn(CNN, { start: 0, end: 2 })).toEqual([]);
  });
});

describe("partLabel", () => {
  it("names a part's rule by the label /api/info gives it", () => {
    expect(partLabel(INFO, "attention", "attnlrp")).toBe("attention AttnLRP");
    expect(partLabel(INFO, "layernorm", "constant-std")).toBe("LayerNorm σ constant");
    expect(partLabel(INFO, "layernorm", "unknown")).toBe("LayerNorm unknown");
  });
});

describe("blocksOf", () => {
  it("groups consecutive layers of one encoder block", () => {
    expect(blocksOf(VIT)).toEqual([
      { block: 0, start: 2, end: 8 },
      { block: 1, start: 9, end: 11 },
    ]);
  });

  it("gives no blocks for a CNN, and splits a block that is not contiguous", () => {
    expect(blocksOf(CNN)).toEqual([]);
    const gap = [layer(0, "a", "Linear", [4], 0), layer(1, "b", "Linear", [4]), layer(2, "c", "Linear", [4], 0)];
    expect(blocksOf(gap)).toEqual([{ block: 0, start: 0, end: 0 }, { block: 0, start: 2, end: 2 }]);
  });
});

describe("neuronUnit: what the neuron view inspects on a layer", () => {
  it("calls a conv layer's units channels", () => {
    expect(neuronUnit(VIT[0])).toBe("channel");
    expect(neuronUnit(CNN[0])).toBe("channel");
  });

  it("calls the heads of an attention's A·v product heads (axis 0 of its output)", () => {
    expect(neuronUnit(VIT[6])).toBe("head");
    expect(neuronUnit(VIT[10])).toBe("head");
  });

  it("offers nothing on other layers, the scores product and the softmax included", () => {
    for (const i of [1, 2, 3, 4, 5, 7, 8, 12, 13]) expect(neuronUnit(VIT[i])).toBeNull();
    expect(neuronUnit(CNN[1])).toBeNull();
    expect(neuronUnit(layer(0, "x.heads", "MatMul", [65, 16]))).toBeNull(); // not (heads, tokens, dim)
    expect(neuronUnit(layer(0, "x.heads_t", "Reshape", [65, 4, 16]))).toBeNull();
    expect(neuronUnit(layer(0, "heads.head", "Linear", [10]))).toBeNull();
    expect(neuronUnit(layer(0, "flat", "Conv", [16]))).toBeNull();
  });

  it("words a unit as the view shows it: head, or neuron for a conv channel", () => {
    expect(unitWord(neuronUnit(VIT[6]))).toBe("head");
    expect(unitWord(neuronUnit(VIT[0]))).toBe("neuron");
    expect(unitWord(null)).toBe("neuron");
  });
});
