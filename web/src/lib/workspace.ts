// The saved workspace's pure parts (issue 18, point 4): flip masks as runs, the image of a row as the server can
// open it again, and the checks a restored landscape or recommendation result passes before a view draws it (a
// document saved by an older page, or edited by hand, must never break the page: what does not check is skipped).
import type { ImageResponse, LandscapeRequest, LandscapeResponse, RecommendResponse, Workspace, WorkspaceImage } from "../api/types";

/** A mask as runs of equal labels, "0x3000,1x40,0x47136" (the server's WorkspaceFlipRow.mask). */
export function encodeRuns(mask: Uint8Array): string {
  const out: string[] = [];
  let i = 0;
  while (i < mask.length) {
    const v = mask[i];
    let j = i + 1;
    while (j < mask.length && mask[j] === v) j++;
    out.push(`${v}x${j - i}`);
    i = j;
  }
  return out.join(",");
}

/** The mask of `length` labels the runs describe, or null when they are malformed or do not cover exactly `length`. */
export function decodeRuns(text: string, length: number): Uint8Array | null {
  const mask = new Uint8Array(length);
  if (text === "") return length === 0 ? mask : null;
  let at = 0;
  for (const run of text.split(",")) {
    const m = /^(\d{1,3})x(\d{1,7})$/.exec(run);
    if (!m) return null;
    const value = Number(m[1]);
    const count = Number(m[2]);
    if (value > 255 || count === 0 || at + count > length) return null;
    if (value) mask.fill(value, at, at + count);
    at += count;
  }
  return at === length ? mask : null;
}

/** How the server opens an image again: a stored upload by its id, else a sample by name. */
export function imageRef(image: Pick<ImageResponse, "source" | "photo_id">): WorkspaceImage {
  return image.photo_id ? { kind: "photo", id: image.photo_id, name: image.source } : { kind: "sample", name: image.source };
}

/** One key per image reference, to open each image once however many rows use it. */
export function imageKey(ref: WorkspaceImage): string {
  return ref.kind === "photo" ? `photo:${ref.id}` : `sample:${ref.name}`;
}

/** A row's image in words for notes: “coffee.png” (an upload) or the sample's name. */
export function imageName(ref: WorkspaceImage): string {
  return ref.kind === "photo" ? `the upload “${ref.name || ref.id}”` : `the sample “${ref.name}”`;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isModel(x: unknown): boolean {
  return isObject(x) && typeof x.name === "string" && Array.isArray(x.segments);
}

/** A saved landscape's request and result, if they have the shape the landscape view draws; else null. */
export function checkLandscape(request: unknown, result: unknown): { req: LandscapeRequest; res: LandscapeResponse } | null {
  if (!isObject(request) || !isObject(result)) return null;
  const axes = request.axes;
  if (!Array.isArray(axes) || axes.length < 1 || axes.length > 2 || !isModel(request.model) || !Array.isArray(request.rows)) return null;
  if (!axes.every((a) => isObject(a) && typeof a.name === "string" && typeof a.start === "number" && typeof a.stop === "number" && typeof a.steps === "number")) return null;
  if (!Array.isArray(result.points) || typeof result.metric !== "string") return null;
  const pointOk = (p: unknown) =>
    isObject(p) && typeof p.index === "number" && isObject(p.params) && Array.isArray(p.values) && (p.mean === null || typeof p.mean === "number") && isModel(p.model);
  if (!result.points.every(pointOk)) return null;
  return { req: request as unknown as LandscapeRequest, res: result as unknown as LandscapeResponse };
}

/** A saved recommendation result, if it has the shape the recommendations view draws; else null. */
export function checkRecommendation(result: unknown): RecommendResponse | null {
  if (!isObject(result) || !Array.isArray(result.metrics)) return null;
  if (typeof result.candidates !== "number" || typeof result.from_landscapes !== "number" || typeof result.rows !== "number") return null;
  const designOk = (d: unknown) => isObject(d) && typeof d.rank === "number" && isModel(d.model) && isObject(d.means) && isObject(d.values) && typeof d.source === "string";
  const groupOk = (g: unknown) => isObject(g) && typeof g.metric === "string" && Array.isArray(g.designs) && g.designs.every(designOk);
  return result.metrics.every(groupOk) ? (result as unknown as RecommendResponse) : null;
}

/** "2 comparison rows", "1 flip row": a count with its noun, for notes. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** What a saved working set holds, in words: "2 comparison rows, 1 flip row, a landscape" ("nothing" when empty). */
export function summary(doc: Pick<Workspace, "compare" | "flip" | "landscape" | "recommendation">): string {
  const parts: string[] = [];
  const rows = doc.compare?.rows.length ?? 0;
  const columns = doc.compare?.columns.length ?? 0;
  if (rows) parts.push(count(rows, "comparison row"));
  else if (columns) parts.push(count(columns, "compared model"));
  if (doc.flip) parts.push(count(doc.flip.rows.length, "flip row") + (doc.flip.curve ? " with curves" : ""));
  if (doc.landscape) parts.push("a landscape");
  if (doc.recommendation) parts.push("recommendations");
  return parts.join(", ") || "nothing";
}
