// The rows a job over images runs on: the comparison rows, or the shown image with its class when the
// comparison has none. The landscape (view H) and the recommendations share this choice, so both say and
// do the same thing.
import type { components } from "../api/schema";
import type { CompareRowSpec, State } from "./store";

type CompareRow = components["schemas"]["CompareRow"];

export interface JobRows {
  rows: CompareRow[];
  /** One label per row, for legends and hints. */
  labels: string[];
  /** Where the rows come from; "none" when there is neither a comparison row nor a shown image. */
  from: "comparison" | "image" | "none";
}

/**
 * The comparison rows, else the shown image and class, else nothing. These jobs explain the target's logit, so
 * comparison rows that differ only in their start rule are one row here.
 */
export function jobRows(s: State): JobRows {
  if (s.compareRows.length) {
    const seen = new Set<string>();
    const rows = s.compareRows.filter((r) => {
      const key = JSON.stringify([r.imageId, r.classIndex]);
      return !seen.has(key) && !!seen.add(key);
    });
    return {
      rows: rows.map((r) => ({ image_id: r.imageId, class_index: r.classIndex })),
      labels: rows.map((r) => `${r.source} · ${r.label}`),
      from: "comparison",
    };
  }
  if (s.image && s.classIndex != null) return { rows: [{ image_id: s.image.image_id, class_index: s.classIndex }], labels: ["shown image"], from: "image" };
  return { rows: [], labels: [], from: "none" };
}

/** What a result over these rows depends on: equal keys mean the same images and classes in the same order. */
export function rowsKey(r: JobRows): string {
  return JSON.stringify(r.rows.map((x) => [x.image_id, x.class_index]));
}

/** A short phrase for hints: "on the 2 comparison rows" or "on the shown image". */
export function rowsPhrase(r: JobRows): string {
  if (r.from === "comparison") return `on the ${r.rows.length} comparison row${r.rows.length === 1 ? "" : "s"}`;
  if (r.from === "image") return "on the shown image";
  return "on no image yet";
}

/**
 * A compared row's label with its start rule, "tiger cat · contrastive vs “tabby”", for the grid's data (the
 * on-screen header, the exported grid and report); the class label alone without the row's spec.
 */
export function rowLabel(label: string, spec: Pick<CompareRowSpec, "startCaption"> | undefined): string {
  return spec ? `${label} · ${spec.startCaption}` : label;
}

/** The network and weights a result's designs were made for (their segments index its layers). */
export function networkKey(s: Pick<State, "info">): string {
  return `${s.info?.network ?? ""}|${s.info?.weights ?? ""}`;
}
