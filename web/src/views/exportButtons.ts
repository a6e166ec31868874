// "PNG" and "SVG" buttons for a chart or grid: the SVG with its styles inlined, or rasterised at 2×.
import { h } from "../lib/dom";
import { saveBlob, slug, svgBlob, svgMarkup, svgPng } from "../lib/export";

export type MarkupSource = () => string | null | Promise<string | null>;

/** An on-screen SVG chart as a markup source (null while it is empty). */
export function chartMarkup(svg: () => SVGSVGElement | null): MarkupSource {
  return () => {
    const el = svg();
    return el && el.childElementCount ? svgMarkup(el) : null;
  };
}

export function exportButtons(name: () => string, markup: MarkupSource, onError: (err: unknown) => void, what = "chart"): HTMLElement {
  const png = h("button", { class: "export", "data-testid": "export-png", title: `download this ${what} as a PNG picture` }, "⤓ PNG");
  const svg = h("button", { class: "export", "data-testid": "export-svg", title: `download this ${what} as an SVG drawing` }, "⤓ SVG");
  const run = async (asPng: boolean): Promise<void> => {
    try {
      const text = await markup();
      if (!text) throw new Error(`nothing to export yet: the ${what} is empty`);
      saveBlob(`${slug(name())}.${asPng ? "png" : "svg"}`, asPng ? await svgPng(text) : svgBlob(text));
    } catch (err) {
      onError(err);
    }
  };
  png.addEventListener("click", () => void run(true));
  svg.addEventListener("click", () => void run(false));
  return h("span", { class: "export-buttons" }, png, svg);
}
