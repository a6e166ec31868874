// View H: the landscape of the active design. Vary one or two parameters of a segment (or a segment
// boundary) over a range, score every point with one metric on the comparison rows (the shown image when
// there are none) and see the result fill in while the server's job streams points; a click on a point
// loads its design as the active model's draft, so the heatmap and formula views show it.
import * as d3 from "d3";
import type { components } from "../api/schema";
import { drawLandscape, type LandscapePointData } from "../draw/landscape";
import { clear, fmt, h } from "../lib/dom";
import { formatInput } from "../lib/numbers";
import type { Actions } from "../state/actions";
import { JobCancelled, type JobActions } from "../state/jobs";
import { metricLabel, metricList, metricOf } from "../state/metrics";
import { jobRows, rowsPhrase } from "../state/rows";
import { activeModel, type State } from "../state/store";

type S = components["schemas"];
const BOUNDARY = "boundary";

interface AxisControls {
  param: HTMLSelectElement;
  start: HTMLInputElement;
  stop: HTMLInputElement;
  steps: HTMLInputElement;
  box: HTMLElement;
}

export function mountLandscapeView(root: HTMLElement, actions: Actions, jobs: JobActions): void {
  const { store } = actions;
  root.dataset.testid = "landscape-view";
  root.classList.add("panel");

  const segment = h("select", { "data-testid": "landscape-segment", title: "the segment whose parameters vary" });
  // The metrics that need no region (the server's list), the server's default selected.
  const metric = h("select", { "data-testid": "landscape-metric" });
  const axes: AxisControls[] = [1, 2].map((k) => {
    const param = h("select", { "data-testid": `landscape-param-${k}` });
    const start = h("input", { type: "number", step: "any", "data-testid": `landscape-start-${k}`, class: "num" });
    const stop = h("input", { type: "number", step: "any", "data-testid": `landscape-stop-${k}`, class: "num" });
    const steps = h("input", { type: "number", min: "1", max: "121", value: k === 1 ? "11" : "5", "data-testid": `landscape-steps-${k}`, class: "num" });
    const box = h("span", { class: "landscape-axis" }, `axis ${k} `, param, " from ", start, " to ", stop, " in ", steps, " steps");
    return { param, start, stop, steps, box };
  });
  const run = h("button", { "data-testid": "landscape-run", class: "primary" }, "Run sweep");
  const rowsHint = h("span", { class: "hint", "data-testid": "landscape-rows" });
  const hover = h("div", { class: "hint landscape-hover", "data-testid": "landscape-hover" }, "Hover a point for its values; click it to load it as a new draft model.");
  const svg = d3.create("svg");
  const chart = h("div", { class: "landscape-box" }, svg.node()!);
  root.append(
    h("h2", {}, "H · Parameter landscape"),
    h("div", { class: "landscape-controls" }, "segment ", segment, axes[0].box, axes[1].box, " metric ", metric, run),
    rowsHint,
    chart,
    hover,
  );

  // The shown sweep lives in the store (state.landscape), so the saved workspace keeps it; `running`: this page
  // started the sweep and follows its streamed points.
  let running = false;

  function fillOptions(s: State): void {
    const model = activeModel(s);
    const info = s.info;
    if (!model || !info) return;
    if (!metric.options.length) {
      for (const m of metricList(s)) if (!m.needs_region) metric.append(h("option", { value: m.name, title: m.description }, m.label));
      metric.value = info.defaults.landscape_metric;
    }
    const segValue = segment.value;
    clear(segment);
    model.segments.forEach((seg, i) => segment.append(h("option", { value: String(i + 1) }, `S${i + 1} (layers ${seg.start}–${seg.end})`)));
    segment.value = segValue && Number(segValue) <= model.segments.length ? segValue : "1";
    axes.forEach((a, k) => {
      const prev = a.param.value;
      clear(a.param);
      if (k === 1) a.param.append(h("option", { value: "" }, "(none)"));
      for (const p of info.params) a.param.append(h("option", { value: p.name, title: p.description }, p.symbol));
      if (Number(segment.value) < model.segments.length) a.param.append(h("option", { value: BOUNDARY }, `boundary B${segment.value}`));
      a.param.value = prev && [...a.param.options].some((o) => o.value === prev) ? prev : k === 0 ? info.params[0].name : "";
    });
  }

  function setRange(k: number): void {
    const s = store.get();
    const a = axes[k];
    const model = activeModel(s);
    const seg = Number(segment.value);
    if (!model || !s.info) return;
    if (a.param.value === BOUNDARY && seg < model.segments.length) {
      a.start.value = String(model.segments[seg - 1].start + 1);
      a.stop.value = String(model.segments[seg].end);
    } else {
      const spec = s.info.params.find((p) => p.name === a.param.value);
      if (!spec) return;
      a.start.value = formatInput(spec.minimum);
      a.stop.value = formatInput(Math.min(spec.maximum, spec.minimum + 1));
    }
  }

  function axisName(k: number): string | null {
    const v = axes[k].param.value;
    if (!v) return null;
    return v === BOUNDARY ? `B${segment.value}` : `S${segment.value}.${v}`;
  }

  /** An axis as the page writes it: "S1.gamma1p" → "S1 · γ1p" (the parameter's symbol from /api/info), "B1" → "boundary B1". */
  function axisLabel(name: string): string {
    const m = /^S(\d+)\.(.+)$/.exec(name);
    if (!m) return name.startsWith("B") ? `boundary ${name}` : name;
    const symbol = store.get().info?.params.find((p) => p.name === m[2])?.symbol ?? m[2];
    return `S${m[1]} · ${symbol}`;
  }

  /** A point's parameters as the page writes them. */
  function pointText(params: Record<string, number>, sep: string): string {
    return Object.entries(params).map(([k, v]) => `${axisLabel(k)}${sep}${fmt(v)}`).join(", ");
  }

  function ticks(a: S["LandscapeAxis"]): number[] {
    if (a.steps <= 1) return [a.start];
    const vals = d3.range(a.steps).map((i) => a.start + ((a.stop - a.start) * i) / (a.steps - 1));
    return a.name.startsWith("B") ? [...new Set(vals.map(Math.round))] : vals;
  }

  function draw(): void {
    const shown = store.get().landscape;
    if (!shown) {
      svg.selectAll("*").remove();
      return;
    }
    const width = Math.max(420, Math.min(900, root.clientWidth - 24));
    drawLandscape(
      svg,
      {
        axes: shown.req.axes.map((a) => axisLabel(a.name)),
        ticks: shown.req.axes.map(ticks),
        points: shown.points as LandscapePointData[],
        rowLabels: shown.labels,
        metric: metricLabel(store.get(), shown.req.metric ?? metric.value),
        higherIsBetter: metricOf(store.get(), shown.req.metric ?? metric.value)?.higher_is_better ?? true,
      },
      {
        width,
        height: shown.req.axes.length === 1 ? 300 : 340,
        onHover: (p) => {
          hover.textContent = p
            ? `${pointText(p.params, " = ")} · mean ${p.mean == null ? "—" : fmt(p.mean)} · ` +
              p.values.map((v, r) => `${shown.labels[r] ?? `row ${r + 1}`}: ${v == null ? "—" : fmt(v)}`).join(", ")
            : "Hover a point for its values; click it to load it as a new draft model.";
        },
        onClick: (p) => {
          const full = shown.points.find((q) => q.index === p.index);
          if (!full) return;
          // a new draft model named after the swept model and the point's values; the swept model is not touched
          void actions.loadAsDraft(full.model, shown.baseId);
        },
      },
    );
  }

  run.addEventListener("click", async () => {
    const s = store.get();
    const model = activeModel(s);
    const { rows: body, labels } = jobRows(s);
    if (!model || !body.length) {
      store.set({ notice: "Landscape: load an image (or add comparison rows) first" });
      return;
    }
    const req: S["LandscapeRequest"] = { model, rows: body, metric: metric.value as S["LandscapeRequest"]["metric"], axes: [] };
    for (let k = 0; k < 2; k++) {
      const name = axisName(k);
      if (!name) continue;
      req.axes.push({ name, start: Number(axes[k].start.value), stop: Number(axes[k].stop.value), steps: Math.max(1, Math.round(Number(axes[k].steps.value))) });
    }
    actions.showLandscape({ req, labels, points: [], result: null, baseId: s.activeId });
    running = true;
    run.disabled = true;
    try {
      const res = await jobs.run("landscape", req, "Landscape", { key: null, channel: "landscape" });
      const now = store.get().landscape;
      if (now?.req === req) actions.showLandscape({ ...now, points: res.points, result: res });
    } catch (err) {
      if (!(err instanceof JobCancelled)) store.set({ error: err instanceof Error ? err.message : String(err) });
    } finally {
      running = false;
      run.disabled = false;
    }
  });

  // streamed points: redraw as the job reports more of them
  jobs.subscribe((list) => {
    const t = list.find((j) => j.job.kind === "landscape");
    const shown = store.get().landscape;
    if (!t || !shown || !running || shown.result) return;
    const partial = t.job.partial ?? [];
    if (partial.length !== shown.points.length) actions.showLandscape({ ...shown, points: partial });
  });

  segment.addEventListener("change", () => {
    fillOptions(store.get());
    setRange(0);
    setRange(1);
  });
  axes.forEach((a, k) => a.param.addEventListener("change", () => setRange(k)));

  let filled = false;
  store.subscribe((s, p) => {
    if (s.landscape !== p.landscape || s.info !== p.info) draw();
    const on = jobRows(s);
    rowsHint.textContent = on.from === "comparison" ? rowsPhrase(on) : `${rowsPhrase(on)} (add comparison rows to sweep several)`;
    const model = activeModel(s);
    if (!model || !s.info) return;
    const n = segment.options.length;
    if (!filled || n !== model.segments.length) {
      fillOptions(s);
      if (!filled) {
        axes[0].param.value = s.info.params.some((p) => p.name === "gamma1p") ? "gamma1p" : s.info.params[0].name;
        setRange(0);
        filled = true;
      }
    }
  });
}
