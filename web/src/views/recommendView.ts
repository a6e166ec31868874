// Recommendations (issue 10, item 5): the best designs found so far for the rows the landscape runs on
// (the comparison rows, else the shown image). The server scores the registry's composites and the best
// points of the landscapes run so far on every row and picked metric; this view shows the top designs per
// metric as cards with their means, a per-row strip of the ranking metric and the server's one-line reason,
// and one click stores a design in the model manager. A result whose rows changed is dimmed, not passed off
// as current.
import * as d3 from "d3";
import type { components } from "../api/schema";
import { drawRowStrip, stripDomain } from "../draw/rowStrip";
import { clear, fmt, h } from "../lib/dom";
import type { Actions } from "../state/actions";
import { JobCancelled, type JobActions } from "../state/jobs";
import { metricLabel, metricList, metricOf } from "../state/metrics";
import { jobRows, networkKey, rowsKey, rowsPhrase } from "../state/rows";
import type { RecommendationShown, State } from "../state/store";

type S = components["schemas"];
type MetricName = S["RecommendRequest"]["metrics"][number];
type Response = S["RecommendResponse"];
type Design = S["Recommendation"];

/** The badge of a design's source (a source the server adds later reads "<source> point"). */
const SOURCE_LABELS: Record<string, string> = { composite: "composite", landscape: "landscape point" };
const MAX_METRICS = 4;

/** The metrics a recommendation can rank by (the suite's metrics that need no drawn region), the server's defaults checked. */
function rankable(s: State): { name: MetricName; label: string; description: string; checked: boolean }[] {
  const defaults: string[] = s.info?.defaults.recommend_metrics ?? [];
  return metricList(s)
    .filter((m) => !m.needs_region)
    .map((m) => ({ name: m.name as MetricName, label: m.label, description: m.description, checked: defaults.includes(m.name) }));
}

/** What a result depends on: the network and the rows. */
function resultKey(s: State): string {
  return `${networkKey(s)}|${rowsKey(jobRows(s))}`;
}

/** The shown result (state.recommendation, kept in the saved workspace). */
type Shown = RecommendationShown;

export function mountRecommendView(root: HTMLElement, actions: Actions, jobs: JobActions): void {
  const { store } = actions;
  root.dataset.testid = "recommend-view";
  root.classList.add("panel");

  const boxes: { name: MetricName; box: HTMLInputElement; label: HTMLElement }[] = [];
  const boxesBox = h("span", { class: "recommend-metrics", title: `rank by up to ${MAX_METRICS} metrics` }, "rank by ");
  /** One checkbox per rankable metric, once /api/info has listed them. */
  function makeBoxes(s: State): void {
    if (boxes.length || !s.info) return;
    for (const m of rankable(s)) {
      const box = h("input", { type: "checkbox", value: m.name, "data-testid": "recommend-metric", checked: m.checked });
      box.addEventListener("change", syncControls);
      const label = h("label", { class: "recommend-metric", title: m.description }, box, ` ${m.label}`);
      boxes.push({ name: m.name, box, label });
      boxesBox.append(label);
    }
  }
  const top = h("input", { type: "number", min: "1", max: "5", step: "1", value: "3", class: "num", "data-testid": "recommend-top", title: "designs per metric (1–5)" });
  const sweeps = h("input", { type: "checkbox", checked: true, "data-testid": "recommend-sweeps" });
  const run = h("button", { class: "primary", "data-testid": "recommend-run" }, "Recommend");
  const rowsHint = h("span", { class: "hint", "data-testid": "recommend-rows" });
  const summary = h("div", { class: "hint", "data-testid": "recommend-summary" }, "Run to score the composites and the best points of your landscapes on these rows.");
  const staleHint = h("div", { class: "recommend-stale-hint", "data-testid": "recommend-stale", hidden: true });
  const results = h("div", { class: "recommend-results" });
  root.append(
    h("h2", {}, "Recommendations"),
    h(
      "div",
      { class: "recommend-controls" },
      boxesBox,
      h("label", {}, "top ", top),
      h("label", { title: "also score the best points of the landscapes (view H) run so far on these rows" }, sweeps, " include landscape points"),
      run,
    ),
    rowsHint,
    summary,
    staleHint,
    results,
  );

  let running = false;
  /** Designs of the shown result already added to the manager (by their JSON): every card of one says "Added". */
  let added = new Map<string, string>();
  const shownNow = (): Shown | null => store.get().recommendation;

  function picked(): MetricName[] {
    return boxes.filter((b) => b.box.checked).map((b) => b.name);
  }

  function topValue(): number {
    const n = Math.round(Number(top.value));
    return Number.isFinite(n) ? Math.min(5, Math.max(1, n)) : 3;
  }

  /** At most four metrics, at least one: full boxes lock the unchecked ones, none disables the run. */
  function syncControls(): void {
    const n = picked().length;
    for (const b of boxes) b.box.disabled = running || (!b.box.checked && n >= MAX_METRICS);
    const rows = jobRows(store.get());
    run.disabled = running || n === 0 || rows.rows.length === 0;
    run.textContent = running ? "Scoring…" : "Recommend";
    run.title = n === 0 ? "pick at least one metric" : rows.rows.length === 0 ? "load an image first" : "";
  }

  function markStale(s: State): void {
    const shown = s.recommendation;
    const stale = !!shown && shown.key !== resultKey(s);
    const foreign = !!shown && shown.network !== networkKey(s);
    if (foreign !== (results.dataset.foreign === "1")) {
      results.dataset.foreign = foreign ? "1" : "0";
      render(); // the cards' buttons follow
    }
    results.classList.toggle("stale", stale);
    results.dataset.stale = stale ? "1" : "0";
    staleHint.hidden = !stale;
    staleHint.textContent = foreign
      ? "The network changed since this run: these designs were made for the other one. Run again."
      : "The rows changed since this run: these results are for the old rows. Run again.";
  }

  function summaryText(res: Response, withSweeps: boolean): string {
    const composites = res.candidates - res.from_landscapes;
    const rows = `${res.rows} row${res.rows === 1 ? "" : "s"}`;
    const secs = `${fmt(res.elapsed_ms / 1000, 2)} s`;
    let where: string;
    if (!withSweeps) where = "landscape points not included";
    else if (res.from_landscapes === 0) where = "no landscape has been run on these rows yet (view H adds its best points)";
    else where = `${res.from_landscapes} landscape point${res.from_landscapes === 1 ? "" : "s"} from the landscapes run so far`;
    return `Scored ${res.candidates} candidates on ${rows} in ${secs}: ${composites} composite${composites === 1 ? "" : "s"}, ${where}. Reasons compare with the default “${res.default}”.`;
  }

  /** The strip's width: a card's inner width in the results grid (columns of at least 320 px, 10 px apart). */
  function stripWidth(): number {
    const w = results.clientWidth;
    if (!w) return 290;
    const n = Math.max(1, Math.floor((w + 10) / 330));
    return Math.max(200, Math.floor((w - 10 * (n - 1)) / n) - 18);
  }

  function card(group: S["MetricRecommendations"], d: Design, metrics: string[], domain: [number, number], state: Shown, width: number): HTMLElement {
    const id = JSON.stringify(d.model);
    const badge = h(
      "span",
      { class: `source-badge source-${d.source}`, title: d.origin, "data-testid": "recommendation-source" },
      SOURCE_LABELS[d.source] ?? `${d.source} point`,
    );
    const means = h(
      "div",
      { class: "recommend-means" },
      ...metrics.map((m) => {
        const v = d.means[m];
        const ranking = m === group.metric;
        return h(
          "span",
          { class: ranking ? "recommend-mean ranking" : "recommend-mean", "data-metric": m, "data-testid": ranking ? "recommendation-mean" : undefined, title: metricOf(store.get(), m)?.description },
          `${metricLabel(store.get(), m)} `,
          h("b", {}, v == null ? "—" : fmt(v)),
        );
      }),
    );
    const svg = d3.create("svg");
    drawRowStrip(svg, { values: d.values[group.metric] ?? [], mean: d.means[group.metric] ?? null, rowLabels: state.labels, domain, higherIsBetter: group.higher_is_better }, { width });
    const add = h("button", { "data-testid": "recommendation-add", title: "store this design in the model manager" }, "Add to manager");
    const load = h("button", { "data-testid": "recommendation-load", title: "load it as a new draft model (the stored models stay as they are); the heatmap and formula show it" }, "Load as draft");
    if (state.network !== networkKey(store.get())) {
      add.disabled = load.disabled = true;
      add.title = load.title = "made for another network: run again on this one";
    }
    const storedAs = added.get(id);
    if (storedAs != null) {
      add.textContent = "Added";
      add.disabled = true;
      add.title = `stored as “${storedAs}”`;
    }
    add.addEventListener("click", async () => {
      add.disabled = true;
      const stored = await actions.addModel(d.model);
      if (stored && shownNow() === state) {
        added.set(id, stored.model.name);
        render(); // the same design may be recommended under several metrics
      } else add.disabled = false;
    });
    // A new model named after what it changes; the active (stored) model keeps its name and rules.
    load.addEventListener("click", () => void actions.loadAsDraft(d.model));
    const mean = d.means[group.metric];
    return h(
      "div",
      { class: "recommend-card", "data-testid": "recommendation", "data-metric": group.metric, "data-rank": d.rank, "data-source": d.source, "data-mean": mean == null ? "" : String(mean), "data-name": d.model.name },
      h("div", { class: "recommend-card-head" }, h("span", { class: "recommend-rank" }, `#${d.rank}`), h("span", { class: "recommend-name", title: d.model.name }, d.model.name), badge),
      means,
      h("div", { class: "recommend-strip", title: `${metricLabel(store.get(), group.metric)} per row (dots) and mean (bar)` }, svg.node()!),
      h("div", { class: "recommend-reason", "data-testid": "recommendation-reason" }, d.reason),
      h("div", { class: "row" }, add, load),
    );
  }

  function render(): void {
    clear(results);
    const state = shownNow();
    if (!state) return;
    const metrics = state.res.metrics.map((g) => g.metric);
    const width = stripWidth();
    for (const group of state.res.metrics) {
      const domain = stripDomain(group.designs.flatMap((d) => d.values[group.metric] ?? []));
      const dir = group.higher_is_better ? "↑ better" : "↓ better";
      results.append(
        h(
          "div",
          { class: "recommend-column", "data-testid": "recommend-column", "data-metric": group.metric },
          h("h3", { title: group.label }, `${group.label} `, h("span", { class: "recommend-dir" }, dir)),
          ...(group.designs.length ? group.designs.map((d) => card(group, d, metrics, domain, state, width)) : [h("div", { class: "hint" }, "no design has a value for this metric on these rows")]),
        ),
      );
    }
  }

  run.addEventListener("click", async () => {
    const s = store.get();
    const rows = jobRows(s);
    const metrics = picked();
    if (!rows.rows.length || !metrics.length) return;
    const body: S["RecommendRequest"] = { rows: rows.rows, metrics, top: topValue(), sweeps: sweeps.checked };
    top.value = String(body.top);
    const key = resultKey(s);
    running = true;
    syncControls();
    summary.textContent = `Scoring ${metrics.map((m) => metricLabel(s, m)).join(", ")} ${rowsPhrase(rows)}…`;
    const label = `Recommendations (${metrics.length} metric${metrics.length === 1 ? "" : "s"})`;
    try {
      const res = await jobs.run("recommend", body, label, { key: null, channel: "recommend" });
      actions.showRecommendation({ res, key, network: networkKey(s), labels: rows.labels, sweeps: body.sweeps ?? true });
    } catch (err) {
      const shown = shownNow();
      summary.textContent = shown ? summaryText(shown.res, shown.sweeps) : "No recommendations yet.";
      if (!(err instanceof JobCancelled)) actions.reportError(err);
    } finally {
      running = false;
      syncControls();
      markStale(store.get());
    }
  });

  function showRows(s: State): void {
    const on = jobRows(s);
    rowsHint.textContent = on.from === "image" ? `Runs ${rowsPhrase(on)} (add comparison rows to rank on several).` : `Runs ${rowsPhrase(on)}.`;
  }

  /** A new result (a run, or one restored from the saved workspace): its summary and cards. */
  function showResult(shown: Shown | null): void {
    added = new Map();
    if (shown) {
      summary.textContent = summaryText(shown.res, shown.sweeps);
      summary.dataset.landscapes = String(shown.res.from_landscapes);
      summary.dataset.candidates = String(shown.res.candidates);
    } else {
      summary.textContent = "Run to score the composites and the best points of your landscapes on these rows.";
      delete summary.dataset.landscapes;
      delete summary.dataset.candidates;
    }
    render();
    markStale(store.get());
  }

  store.subscribe((s, p) => {
    if (s.recommendation !== p.recommendation) showResult(s.recommendation);
    if (s.compareRows !== p.compareRows || s.image !== p.image || s.classIndex !== p.classIndex || s.info !== p.info) {
      makeBoxes(s);
      showRows(s);
      syncControls();
      markStale(s);
    }
  });
  makeBoxes(store.get());
  showRows(store.get());
  syncControls();
}
