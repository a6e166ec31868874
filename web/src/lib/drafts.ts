// Names of new drafts (issue 18, point 3). A landscape point or a recommendation loaded into the designer
// becomes a NEW model named after its base and what actually differs from it ("EpsilonGammaBox · γ₁₊=0.25
// (draft)"), never a rename of a stored model, and never a name that contradicts its parameters.
import type { LRPModel } from "../api/types";
import { formatNumber } from "./numbers";
import { sameModel } from "./segments";

/** Parameter symbols as people write them (subscripts, ₊/₋ for the positive/negative parts). */
const SYMBOLS: Record<string, string> = {
  alpha: "α",
  beta: "β",
  epsilon: "ε",
  theta0: "θ₀",
  theta1: "θ₁",
  gamma0: "γ₀",
  gamma1: "γ₁",
  gamma1p: "γ₁₊",
  gamma1n: "γ₁₋",
  gamma2: "γ₂",
};

export const DRAFT_SUFFIX = " (draft)";

export function paramSymbol(name: string): string {
  return SYMBOLS[name] ?? name;
}

/** The same design whatever its name. */
export function sameDesign(a: LRPModel, b: LRPModel): boolean {
  return sameModel({ ...a, name: "" }, { ...b, name: "" });
}

/**
 * The root of a model's name: without a " (draft)" suffix (and a " N" the store added to it), a trailing
 * " (…)" description, and the " · S1.gamma1p=1" parameter list a landscape point's name carries, so a new
 * name never repeats parameters that the design no longer has.
 */
export function nameRoot(name: string): string {
  let n = name.trim().replace(/ \(draft\)(?: \d+)?$/, "");
  n = n.replace(/\s*\([^()]*\)/g, ""); // descriptions first: they may hold " · " themselves
  n = n.split(" · ")[0];
  return n.trim() || name.trim();
}

/** What differs between `model` and `base`, in words: ["γ₁₊=0.25"], ["S2 ε=0.1", "bias off"], or null when the segments do not line up. */
export function differences(model: LRPModel, base: LRPModel): string[] | null {
  if (model.segments.length !== base.segments.length) return null;
  const out: string[] = [];
  const many = model.segments.length > 1;
  model.segments.forEach((seg, k) => {
    const other = base.segments[k];
    const where = many ? `S${k + 1} ` : "";
    if (seg.start !== other.start || seg.end !== other.end) out.push(`${where}layers ${seg.start}–${seg.end}`);
    const a = (seg.rule ?? {}) as Record<string, number>;
    const b = (other.rule ?? {}) as Record<string, number>;
    for (const key of Object.keys(SYMBOLS)) {
      if (a[key] !== undefined && a[key] !== b[key]) out.push(`${where}${paramSymbol(key)}=${formatNumber(a[key])}`);
    }
    if (seg.attention !== other.attention) out.push(`${where}${seg.attention}`);
    if (seg.layernorm !== other.layernorm) out.push(`${where}LayerNorm ${seg.layernorm}`);
  });
  if (model.include_bias !== base.include_bias) out.push(model.include_bias ? "bias on" : "bias off");
  if (!sameModel({ ...model, segments: [], include_bias: true, name: "" }, { ...base, segments: [], include_bias: true, name: "" })) out.push("other input rule or filter");
  return out;
}

/**
 * The name of a new draft of `model`: "<base root> · <differences> (draft)" when a base with the same
 * segments is known, else "<model's root> (draft)". Names stay under the store's 200 characters.
 */
export function draftName(model: LRPModel, base: LRPModel | null): string {
  const diff = base ? differences(model, base) : null;
  const shown = diff && diff.length > 4 ? [...diff.slice(0, 4), `${diff.length - 4} more`] : diff;
  const name = base && shown && shown.length ? `${nameRoot(base.name)} · ${shown.join(", ")}` : nameRoot(model.name);
  return `${name.slice(0, 200 - DRAFT_SUFFIX.length - 3)}${DRAFT_SUFFIX}`;
}
