// Start rules (docs/start-rules.md): what a heatmap is an explanation of. The kinds, their help and which of
// them take a class come from /api/info (`start_kinds`, `default_start`); nothing here names a kind.
import type { Info, Prediction } from "../api/types";

export type StartKindInfo = Info["start_kinds"][number];

/** The user's pick in the result view: a kind, and for a kind that takes a class, the class (null: the default). */
export interface StartChoice {
  kind: string;
  other: number | null;
}

/** The kind named `name`, if the server has it. */
export function startKind(info: Pick<Info, "start_kinds"> | null, name: string): StartKindInfo | undefined {
  return info?.start_kinds.find((k) => k.name === name);
}

/**
 * The class a contrastive rule contrasts with by default: the highest-scoring class of the prediction other
 * than the target (the second-highest class when the target is the top class); null without one.
 */
export function defaultContrast(topk: readonly Prediction[], target: number | null): number | null {
  return topk.find((p) => p.index !== target)?.index ?? null;
}

/** The class contrasted with: the picked one, unless it is the target itself (z_t − z_t explains nothing). */
export function contrastClass(choice: StartChoice, topk: readonly Prediction[], target: number | null): number | null {
  return choice.other != null && choice.other !== target ? choice.other : defaultContrast(topk, target);
}

/**
 * The start rule as the API takes it (`name` or `name:class`) for the current pick, target and prediction; the
 * server's default when the kind is unknown or takes a class and there is none to take.
 */
export function startSpec(info: Pick<Info, "start_kinds" | "default_start">, choice: StartChoice, topk: readonly Prediction[], target: number | null): string {
  const kind = startKind(info, choice.kind);
  if (!kind) return info.default_start;
  if (!kind.takes_class) return kind.name;
  const other = contrastClass(choice, topk, target);
  return other == null ? info.default_start : `${kind.name}:${other}`;
}

/** A start rule's text split into its kind and class (null for a kind without one). */
export function parseSpec(spec: string): { kind: string; other: number | null } {
  const [kind, arg] = spec.split(":", 2);
  const other = arg === undefined ? null : Number(arg);
  return { kind, other: other != null && Number.isInteger(other) ? other : null };
}

/**
 * A short caption of a start rule for headers and captions: the kind, and for a contrast "vs “label”" (the
 * label from `labelOf`, else "class N").
 */
export function startCaption(spec: string, labelOf: (index: number) => string | undefined): string {
  const { kind, other } = parseSpec(spec);
  if (other == null) return kind;
  return `${kind} vs “${labelOf(other) ?? `class ${other}`}”`;
}
