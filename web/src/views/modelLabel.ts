// What to call the model a picture was computed with: its name, and when that is an unsaved draft, a
// "•" and the rules that differ from the saved model (captions and column headers show the draft).
import type { LRPModel } from "../api/types";
import { presetLabel } from "../draw/segmentBars";
import { partLabel } from "../lib/layers";
import { draftChanges } from "../lib/segments";
import type { State } from "../state/store";

export interface ModelLabel {
  /** The name, with " •" for a draft. */
  name: string;
  /** How the draft differs from the saved model, or null. */
  draft: string | null;
  /** One line: "name • (draft: S2 LRP-ε)". */
  text: string;
}

export function modelLabel(s: State, model: LRPModel | null | undefined): ModelLabel {
  if (!model) return { name: "", draft: null, text: "" };
  // Names are unique in the store, and a rename renames the draft too.
  const saved = s.models.find((m) => m.model.name === model.name)?.model;
  const info = s.info;
  const draft = info ? draftChanges(model, saved, (p) => presetLabel(p, info.presets), (part, name) => partLabel(info, part, name)) : null;
  const name = model.name + (draft ? " •" : "");
  return { name, draft, text: draft ? `${name} (draft: ${draft})` : name };
}
