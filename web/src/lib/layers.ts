// What the layer table of /api/info says about a network's transformer parts: which segments hold
// attention or LayerNorm layers (so the segment rule panel offers their rules), the encoder blocks (for
// the ruler), and what a "neuron" of a layer is in the neuron view (a conv channel or an attention head).
import type { Info, LayerInfo, Segment } from "../api/types";
import type { PartName } from "./segments";

/** Layer kinds whose relevance the segment's attention rule decides: the two matrix products and the softmax. */
export const ATTENTION_KINDS: readonly string[] = ["MatMul", "Softmax"];
/** The layer kind the segment's LayerNorm rule decides. */
export const LAYERNORM_KINDS: readonly string[] = ["LayerNorm"];

const PART_KINDS: Record<PartName, readonly string[]> = { attention: ATTENTION_KINDS, layernorm: LAYERNORM_KINDS };

/** The layers of a segment (start..end, both included). */
export function layersOf(layers: LayerInfo[], seg: Pick<Segment, "start" | "end">): LayerInfo[] {
  return layers.filter((l) => seg.start <= l.index && l.index <= seg.end);
}

/** Which transformer parts (attention, LayerNorm) have layers in the segment, in that order; none for a CNN. */
export function partsIn(layers: LayerInfo[], seg: Pick<Segment, "start" | "end">): PartName[] {
  const inSeg = layersOf(layers, seg);
  return (Object.keys(PART_KINDS) as PartName[]).filter((p) => inSeg.some((l) => PART_KINDS[p].includes(l.kind)));
}

/** The rule choices /api/info gives for a part (attention_rules or layernorm_rules). */
export function partOptions(info: Pick<Info, "attention_rules" | "layernorm_rules">, part: PartName): Info["attention_rules"] {
  return part === "attention" ? info.attention_rules : info.layernorm_rules;
}

/** The words for a part's rule, e.g. "attention AttnLRP", "LayerNorm σ constant" (labels from /api/info). */
export function partLabel(info: Pick<Info, "attention_rules" | "layernorm_rules">, part: PartName, name: string): string {
  const label = partOptions(info, part).find((o) => o.name === name)?.label ?? name;
  return `${part === "attention" ? "attention" : "LayerNorm"} ${label}`;
}

/** A run of consecutive layers of one transformer encoder block. */
export interface BlockSpan {
  block: number;
  start: number;
  end: number;
}

/** The encoder blocks as runs of consecutive layers with the same `block` (none for a CNN). */
export function blocksOf(layers: LayerInfo[]): BlockSpan[] {
  const out: BlockSpan[] = [];
  for (const l of layers) {
    if (l.block == null) continue;
    const last = out[out.length - 1];
    if (last && last.block === l.block && last.end === l.index - 1) last.end = l.index;
    else out.push({ block: l.block, start: l.index, end: l.index });
  }
  return out;
}

/** What one unit of a layer's output axis 0 is in the neuron view. */
export type NeuronUnit = "channel" | "head";

/**
 * The unit the neuron view inspects and ablates on this layer, or null where it offers none: a conv
 * layer's channels ((C, H, W) output), or an attention layer's heads: the product A·v of a multi-head
 * attention, the MatMul named `…heads` whose output is (heads, tokens, head dim). The server decides the
 * same way (vislrp.analysis.ablation.unit_layer).
 */
export function neuronUnit(layer: Pick<LayerInfo, "kind" | "name" | "shape">): NeuronUnit | null {
  if (layer.kind === "Conv" && layer.shape.length === 3) return "channel";
  if (layer.kind === "MatMul" && layer.shape.length === 3 && layer.name.split(".").pop() === "heads") return "head";
  return null;
}

/**
 * The word the neuron view uses for one unit: "head" on an attention heads layer, else "neuron" (a conv
 * channel, as the paper's V6 calls it).
 */
export function unitWord(unit: NeuronUnit | null): "head" | "neuron" {
  return unit === "head" ? "head" : "neuron";
}
