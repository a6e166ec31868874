// Files that leave the page: heatmaps as PNG (with their legend) and as raw .npy, charts as standalone
// SVG or PNG. Everything is made in the browser from data it already holds, so an export never waits on
// the server and shows exactly what is on screen.
import type { HeatmapData } from "../api/types";
import { fmt } from "./dom";
import { type Lut, paint, values } from "./colormap";

export function saveBlob(filename: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 5000);
}

/** A file-name-safe slug of a label (accents dropped: "crème" → "creme", not "cre-me"). */
export function slug(text: string, fallback = "export"): string {
  return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 80) || fallback;
}

/**
 * A NumPy .npy file (format 1.0) of little-endian float32 values in C order: the magic string, the
 * header dict padded with spaces to a multiple of 64 bytes (newline last), then the raw data.
 */
export function npyBlob(data: Float32Array, shape: number[]): Blob {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const pre = 10; // magic (6) + version (2) + header length (2)
  header += " ".repeat(64 - ((pre + header.length + 1) % 64 || 64)) + "\n";
  const head = new Uint8Array(pre + header.length);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]); // \x93NUMPY v1.0
  new DataView(head.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) head[pre + i] = header.charCodeAt(i);
  const body = new Uint8Array(data.length * 4);
  const view = new DataView(body.buffer);
  data.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return new Blob([head, body], { type: "application/octet-stream" });
}

export function heatmapNpy(h: HeatmapData): Blob {
  return npyBlob(values(h), h.shape);
}

const FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

/** The width in pixels of a text at some font. */
export type Measure = (text: string) => number;

/** The family of every exported picture's text (the heatmap PNGs and the comparison grid's SVG). */
export const FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

let measureCtx: CanvasRenderingContext2D | null = null;

/** Measures text as the browser draws it at `font` (a CSS font shorthand), on a scratch canvas. */
export function textMeasure(font: string): Measure {
  measureCtx ??= document.createElement("canvas").getContext("2d");
  return (text) => {
    if (!measureCtx) return 7 * text.length; // no 2-D canvas: a generous average glyph width
    measureCtx.font = font;
    return measureCtx.measureText(text).width;
  };
}

/**
 * A text fitted into a box `width` pixels wide: wrapped at spaces into at most `maxLines` lines (a word
 * wider than a line is broken between characters); when it does not fit, the last line is cut and ends
 * with "…", still within `width`. `cut` says whether anything was left out (then show the full text
 * elsewhere, e.g. as an SVG <title>).
 */
export function fitLines(text: string, width: number, measure: Measure, maxLines = 1): { lines: string[]; cut: boolean } {
  const fits = (t: string) => measure(t) <= width;
  const lines: string[] = [];
  let cur = "";
  for (const token of text.trim().match(/\S+\s*/g) ?? []) {
    if (fits((cur + token).trimEnd())) {
      cur += token;
      continue;
    }
    if (cur) lines.push(cur.trimEnd());
    cur = "";
    if (fits(token.trimEnd())) {
      cur = token;
      continue;
    }
    for (const ch of Array.from(token)) {
      if (cur && !fits((cur + ch).trimEnd())) {
        lines.push(cur);
        cur = "";
      }
      cur += ch;
    }
  }
  if (cur.trimEnd()) lines.push(cur.trimEnd());
  if (lines.length <= maxLines && lines.every(fits)) return { lines, cut: false };
  const kept = lines.slice(0, Math.max(1, maxLines));
  const chars = Array.from(kept[kept.length - 1]);
  while (chars.length && !fits(`${chars.join("").trimEnd()}…`)) chars.pop();
  kept[kept.length - 1] = `${chars.join("").trimEnd()}…`;
  return { lines: kept, cut: true };
}


/**
 * A heatmap as a picture with its legend: an optional title, the map (nearest-neighbour upscaled to
 * `size` so small intermediate maps stay crisp), a colour bar from −scale to +scale with its numbers.
 */
export function heatmapCanvas(h: HeatmapData, lut: Lut, scale: number, opts: { size?: number; title?: string } = {}): HTMLCanvasElement {
  const size = opts.size ?? 224;
  const src = document.createElement("canvas");
  if (h.kind === "vector") {
    src.width = size;
    src.height = 96;
  }
  paint(src, h, lut, scale);
  const mapH = h.kind === "map" ? Math.round((size * src.height) / src.width) : 96;
  const pad = 8;
  const titleH = opts.title ? 18 : 0;
  const legendH = 40;
  const width = Math.max(size, 150) + 2 * pad;
  const out = document.createElement("canvas");
  out.width = width;
  out.height = pad + titleH + mapH + legendH + pad;
  const ctx = out.getContext("2d")!;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.font = FONT;
  ctx.fillStyle = "#1f2933";
  ctx.textBaseline = "top";
  if (opts.title) ctx.fillText(opts.title, pad, pad, width - 2 * pad);
  ctx.imageSmoothingEnabled = false;
  const x0 = (width - size) / 2;
  ctx.drawImage(src, x0, pad + titleH, size, mapH);
  const y = pad + titleH + mapH + 8;
  const barW = width - 2 * pad;
  for (let i = 0; i < barW; i++) {
    const c = lut[Math.round((i / (barW - 1)) * (lut.length - 1))];
    ctx.fillStyle = `rgb(${c[0]},${c[1]},${c[2]})`;
    ctx.fillRect(pad + i, y, 1, 10);
  }
  ctx.strokeStyle = "#999";
  ctx.strokeRect(pad - 0.5, y - 0.5, barW + 1, 11);
  ctx.fillStyle = "#1f2933";
  const labels: [string, CanvasTextAlign, number][] = [
    [`−${fmt(scale)}`, "left", pad],
    [width >= 220 ? "0 · relevance" : "0", "center", width / 2],
    [`+${fmt(scale)}`, "right", width - pad],
  ];
  for (const [text, align, x] of labels) {
    ctx.textAlign = align;
    ctx.fillText(text, x, y + 14);
  }
  return out;
}

export function canvasBlob(canvas: HTMLCanvasElement): Promise<Blob> {
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("the browser could not encode the PNG"))), "image/png"));
}

/** Presentation properties copied from the page's style sheet, so a saved SVG looks as on screen. */
const SVG_STYLE = [
  "fill", "fill-opacity", "stroke", "stroke-width", "stroke-opacity", "stroke-dasharray", "opacity",
  "font-family", "font-size", "font-weight", "text-anchor", "dominant-baseline", "paint-order", "visibility", "display",
] as const;

/** A standalone SVG document of an on-screen SVG, with the computed styles written inline. */
export function svgMarkup(svg: SVGSVGElement): string {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const src = [svg, ...svg.querySelectorAll<SVGElement>("*")];
  const dst = [clone, ...clone.querySelectorAll<SVGElement>("*")];
  src.forEach((el, i) => {
    const cs = getComputedStyle(el);
    const style = SVG_STYLE.map((p) => `${p}:${cs.getPropertyValue(p)}`).join(";");
    dst[i].setAttribute("style", style);
  });
  const box = svg.getBoundingClientRect();
  clone.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  clone.setAttribute("xmlns:xlink", "http://www.w3.org/1999/xlink");
  if (!clone.getAttribute("width")) clone.setAttribute("width", String(Math.ceil(box.width)));
  if (!clone.getAttribute("height")) clone.setAttribute("height", String(Math.ceil(box.height)));
  // A white background, as on screen.
  const bg = document.createElementNS("http://www.w3.org/2000/svg", "rect");
  bg.setAttribute("width", "100%");
  bg.setAttribute("height", "100%");
  bg.setAttribute("fill", "#fff");
  clone.insertBefore(bg, clone.firstChild);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(clone)}`;
}

export function svgBlob(markup: string): Blob {
  return new Blob([markup], { type: "image/svg+xml" });
}

/** Rasterise SVG markup at `ratio` × its size (images inside must be data URLs). */
export async function svgPng(markup: string, ratio = 2): Promise<Blob> {
  const url = URL.createObjectURL(svgBlob(markup));
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = Math.ceil(img.naturalWidth * ratio);
    canvas.height = Math.ceil(img.naturalHeight * ratio);
    const ctx = canvas.getContext("2d")!;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return await canvasBlob(canvas);
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** A same-origin image (the network's crop of a photo) as a data URL, for self-contained files. */
export async function imageDataUrl(url: string): Promise<string> {
  const blob = await (await fetch(url)).blob();
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(blob);
  });
}
