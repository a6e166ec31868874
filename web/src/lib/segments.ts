// Pure edits of an LRP model (the JSON contract); each returns a new model.
import type { LRPModel, PresetInfo, RuleParams, Segment } from "../api/types";
import { formatApart, formatNumber } from "./numbers";

export const PARAM_ORDER = [
  "alpha", "beta", "theta0", "theta1", "gamma0", "gamma1", "gamma1p", "gamma1n", "gamma2", "epsilon",
] as const;

const DEFAULT_RULE: RuleParams = {
  alpha: 1, beta: 0, epsilon: 0, theta0: 0, theta1: 1, gamma0: 0, gamma1: 1, gamma1p: 0, gamma1n: 0, gamma2: 0,
};

/** A segment's rule with the LRP-0 defaults filled in (the contract lets "rule" be omitted). */
export function ruleOf(seg: Segment): RuleParams {
  return { ...DEFAULT_RULE, ...(seg.rule ?? {}) };
}

export function clone(m: LRPModel): LRPModel {
  return JSON.parse(JSON.stringify(m)) as LRPModel;
}

/** The preset whose parameters equal these exactly, else "custom". */
export function matchPreset(rule: RuleParams, presets: PresetInfo[], preferred?: string | null): string {
  const same = (p: PresetInfo) => PARAM_ORDER.every((k) => Math.abs(p.params[k] - rule[k]) < 1e-9);
  const pref = presets.find((p) => p.name === preferred);
  if (pref && same(pref)) return pref.name;
  return presets.find(same)?.name ?? "custom";
}

/** Move the boundary between segment k and k+1 so that segment k+1 starts at `start`. */
export function moveBoundary(m: LRPModel, k: number, start: number): LRPModel {
  const out = clone(m);
  const a = out.segments[k];
  const b = out.segments[k + 1];
  if (!a || !b) return out;
  const s = Math.max(a.start + 1, Math.min(b.end, Math.round(start)));
  a.end = s - 1;
  b.start = s;
  return out;
}

/** Split segment k in the middle (both halves keep its rule, attention and LayerNorm rules). Needs at least two layers. */
export function splitSegment(m: LRPModel, k: number): LRPModel {
  const seg = m.segments[k];
  if (!seg || seg.end <= seg.start) return clone(m);
  return splitAt(m, Math.floor((seg.start + seg.end + 1) / 2));
}

/**
 * Split the segment holding layer `start` so that a new segment begins there (e.g. at a transformer
 * block's first layer); the new segment is a copy of the one it came from. Unchanged when a segment
 * already starts at `start` or no segment holds it.
 */
export function splitAt(m: LRPModel, start: number): LRPModel {
  const out = clone(m);
  const k = out.segments.findIndex((s) => s.start < start && start <= s.end);
  if (k < 0) return out;
  const seg = out.segments[k];
  const second: Segment = { ...clone({ ...m, segments: [seg] }).segments[0], start };
  seg.end = start - 1;
  out.segments.splice(k + 1, 0, second);
  return out;
}

/** Remove segment k: its layers go to the previous segment (or the next one for the first). */
export function removeSegment(m: LRPModel, k: number): LRPModel {
  const out = clone(m);
  if (out.segments.length <= 1) return out;
  const seg = out.segments[k];
  if (k > 0) out.segments[k - 1].end = seg.end;
  else out.segments[1].start = seg.start;
  out.segments.splice(k, 1);
  return out;
}

export function setRule(m: LRPModel, k: number, rule: RuleParams, preset: string): LRPModel {
  const out = clone(m);
  out.segments[k] = { ...out.segments[k], rule: { ...rule }, preset };
  return out;
}

/** The rules a segment gives a transformer's parts (contract version 2): attention products and softmax, LayerNorm. */
export type SegmentParts = Pick<Segment, "attention" | "layernorm">;
export type PartName = keyof SegmentParts;
export const PART_NAMES: readonly PartName[] = ["attention", "layernorm"];

/** Set segment k's attention or LayerNorm rule (the other fields stay). */
export function setPart<P extends PartName>(m: LRPModel, k: number, part: P, value: SegmentParts[P]): LRPModel {
  const out = clone(m);
  out.segments[k] = { ...out.segments[k], [part]: value };
  return out;
}

/**
 * The attention and LayerNorm rules a new segment starting at layer `start` gets: those of the designer's
 * default model (/api/info's default_model) for that layer, the one place the defaults come from.
 */
export function partDefaults(defaults: LRPModel, start = 0): SegmentParts {
  const seg = defaults.segments.find((s) => s.start <= start && start <= s.end) ?? defaults.segments[0];
  return { attention: seg.attention, layernorm: seg.layernorm };
}

/**
 * An LRP model read from JSON (an import file, possibly written before contract version 2) with every
 * segment's missing attention or LayerNorm rule taken from the default model; anything that is not a
 * model (or a list of models) comes back unchanged, for the server to judge.
 */
export function withPartDefaults(data: unknown, defaults: LRPModel): unknown {
  if (Array.isArray(data)) return data.map((d) => withPartDefaults(d, defaults));
  if (!data || typeof data !== "object") return data;
  const model = data as { segments?: unknown };
  if (!Array.isArray(model.segments)) return data;
  const segments = model.segments.map((seg: unknown) => {
    if (!seg || typeof seg !== "object") return seg;
    const s = seg as Record<string, unknown>;
    const fill = partDefaults(defaults, typeof s.start === "number" ? s.start : 0);
    return { ...s, attention: s.attention ?? fill.attention, layernorm: s.layernorm ?? fill.layernorm };
  });
  return { ...model, segments };
}

/** Equal as JSON whatever the key order (a draft's keys may come in another order than the server's). */
export function sameModel(a: LRPModel, b: LRPModel): boolean {
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : v && typeof v === "object"
        ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => x.localeCompare(y)).map(([k, x]) => [k, canon(x)]))
        : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

const SYMBOLS: Record<string, string> = {
  alpha: "α", beta: "β", epsilon: "ε", theta0: "θ0", theta1: "θ1", gamma0: "γ0", gamma1: "γ1", gamma1p: "γ1p", gamma1n: "γ1n", gamma2: "γ2",
};

/** A segment's rule in a few characters: its preset label, or the parameters away from LRP-0. */
export function ruleSummary(seg: Segment, label: (preset: string | null | undefined) => string): string {
  if (seg.preset && seg.preset !== "custom") return label(seg.preset);
  const r = ruleOf(seg);
  const off = PARAM_ORDER.filter((k) => r[k] !== DEFAULT_RULE[k]).map((k) => `${SYMBOLS[k]}=${formatNumber(r[k])}`);
  return `custom (${off.join(", ") || "LRP-0"})`;
}

/**
 * How a segment's rule changed, in a few characters: the new preset's label, or for a custom rule
 * the parameters whose numbers differ from the old rule's (each written with enough digits to read
 * differently from the value it replaced; parameters that kept their value are not listed).
 */
export function ruleChange(seg: Segment, old: Segment, label: (preset: string | null | undefined) => string): string {
  if (seg.preset && seg.preset !== "custom") return label(seg.preset);
  const r = ruleOf(seg);
  const o = ruleOf(old);
  const diff = PARAM_ORDER.filter((k) => r[k] !== o[k]).map((k) => `${SYMBOLS[k]}=${formatApart(r[k], o[k])}`);
  return diff.length ? `custom (${diff.join(", ")})` : ruleSummary(seg, label);
}

/**
 * How a draft differs from the saved model, in words, or null when it does not: the changed segments
 * with their rules (all segments when the boundaries moved), changed attention or LayerNorm rules (named
 * by `partLabel`, e.g. "attention AttnLRP"; after a boundary move, against the saved segment that held the
 * segment's first layer), and changed bias or input-rule switches.
 */
export function draftChanges(
  draft: LRPModel,
  saved: LRPModel | undefined,
  label: (preset: string | null | undefined) => string,
  partLabel: (part: PartName, name: string) => string = (part, name) => `${part} ${name}`,
): string | null {
  if (!saved || sameModel(draft, saved)) return null;
  const parts: string[] = [];
  const bounds = (m: LRPModel) => m.segments.map((s) => `${s.start}-${s.end}`).join(",");
  const moved = bounds(draft) !== bounds(saved);
  draft.segments.forEach((seg, k) => {
    const old = saved.segments[k];
    const sameRule = !moved && old && PARAM_ORDER.every((p) => ruleOf(old)[p] === ruleOf(seg)[p]);
    // Attention and LayerNorm rules against the saved segment that held this segment's first layer.
    const ref = moved ? saved.segments.find((x) => x.start <= seg.start && seg.start <= x.end) : old;
    const changedParts = ref ? PART_NAMES.filter((p) => seg[p] !== ref[p]).map((p) => partLabel(p, seg[p])) : [];
    if (sameRule && !changedParts.length) return;
    const rule = sameRule ? [] : [moved || !old ? ruleSummary(seg, label) : ruleChange(seg, old, label)];
    parts.push(`S${k + 1}${moved ? ` ${seg.start}–${seg.end}` : ""} ${[...rule, ...changedParts].join(", ")}`);
  });
  if (draft.include_bias !== saved.include_bias) parts.push(draft.include_bias ? "bias on" : "bias off");
  if (!!draft.input_rule !== !!saved.input_rule) parts.push(draft.input_rule ? "ZBox on" : "ZBox off");
  return parts.join(" · ") || "edited";
}
