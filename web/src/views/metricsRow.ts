// The comparison's metrics (issue 9): a metric picker, a row under the model columns with each model's
// mean over the comparison rows (each cell's own value on hover), and the models ranked per metric.
import { fmt, h } from "../lib/dom";
import type { Actions } from "../state/actions";
import { MetricsActions, fillList, metricLabel, metricList, metricOf, metricsBody, metricsKey, type FillName, type MetricName, type MetricsResponse } from "../state/metrics";
import { regionState } from "../state/region";
import type { State } from "../state/store";

const num = (x: number | null | undefined) => (x == null ? "—" : fmt(x, 4));

/** The picker and run button for the comparison's toolbar; `onChange` re-renders the table. */
export function metricsControls(actions: Actions, metrics: MetricsActions): HTMLElement {
  const picker = h("select", { multiple: true, size: 5, "data-testid": "metric-picker", title: "metrics to compute for every cell (ctrl-click for several)" });
  const fill = h("select", { "data-testid": "metrics-fill", title: "what a removed pixel becomes in the flipping metrics (docs/metrics.md)" });
  /** The options, once /api/info has listed the server's metrics and fills. */
  const options = () => {
    const s = actions.store.get();
    if (picker.options.length || !s.info) return;
    for (const m of metricList(s)) {
      picker.append(h("option", { value: m.name, "data-region": m.needs_region ? "1" : null, title: m.needs_region ? "needs a region: draw one with ▭ Region on the result heatmap" : m.description }, m.label));
    }
    for (const f of fillList(s)) fill.append(h("option", { value: f.name, title: f.description }, `fill: ${f.label}`));
  };
  const sync = () => {
    for (const opt of picker.options) opt.selected = metrics.state.picked.includes(opt.value as MetricName);
    fill.value = metrics.state.fill ?? "";
  };
  const update = () =>
    metrics.pick(
      [...picker.selectedOptions].map((o) => o.value as MetricName),
      fill.value as FillName,
    );
  picker.addEventListener("change", update);
  fill.addEventListener("change", update);
  const run = h("button", { "data-testid": "run-metrics", title: "compute the picked metrics for every (model, row) as a job" }, "Σ Metrics");
  run.addEventListener("click", () => void metrics.run());
  // The list shows five metrics at a time: once the defaults are picked, the first is scrolled into view so the
  // preselection is seen (later scrolling is the user's).
  let scrolled = false;
  const reveal = () => {
    const first = picker.selectedOptions[0];
    if (scrolled || !first || !picker.isConnected || !picker.clientHeight) return;
    const row = picker.scrollHeight / picker.options.length;
    picker.scrollTop = Math.max(0, first.index * row - row);
    scrolled = true;
  };
  const refresh = () => {
    options();
    for (const opt of picker.options) if (opt.dataset.region) opt.disabled = !regionState.region;
    sync();
    reveal();
    run.disabled = metrics.state.running || !metricsBody(actions.store.get(), metrics.state);
  };
  metrics.subscribe(refresh);
  regionState.subscribe(() => {
    if (!regionState.region) metrics.pick(metrics.state.picked.filter((n) => !metricOf(actions.store.get(), n)?.needs_region), metrics.state.fill);
    else refresh();
  });
  actions.store.subscribe(refresh);
  refresh();
  return h("span", { class: "metrics-controls" }, h("span", { class: "hint" }, "Metrics:"), picker, fill, run);
}

/** The result if it belongs to the comparison as shown now, else null. */
export function freshMetrics(s: State, metrics: MetricsActions): MetricsResponse | null {
  const r = metrics.state.result;
  return r && metrics.state.key === metricsKey(s, metrics.state.fill) ? r : null;
}

/** Table row under the columns: per model the mean of each metric over the rows, with its rank. */
export function metricsRow(s: State, result: MetricsResponse, nModels: number): HTMLTableRowElement {
  const tr = h("tr", { "data-testid": "metrics-row" }, h("th", {}, "metrics (mean over rows)"));
  for (let j = 0; j < nModels; j++) {
    const td = h("td", { "data-testid": "metrics-mean", "data-model-index": j });
    for (const info of result.metrics) {
      const sum = result.summary.find((x) => x.model_index === j && x.metric === info.name);
      const rank = info.ranking.indexOf(j) + 1;
      td.append(
        h(
          "div",
          { class: "metric-mean", "data-metric": info.name, "data-value": sum?.mean ?? "", title: `${metricLabel(s, info.name)}: mean over ${sum?.count ?? 0} row(s); ${info.higher_is_better ? "higher" : "lower"} is better` },
          h("span", { class: "metric-name" }, info.name),
          ` ${num(sum?.mean)}`,
          nModels > 1 && sum?.mean != null ? h("span", { class: "metric-rank" }, ` #${rank}`) : null,
        ),
      );
    }
    tr.append(td);
  }
  return tr;
}

/** One cell's metric values, shown when the pointer rests on the heatmap. */
export function cellMetrics(result: MetricsResponse, row: number, column: number): HTMLElement | null {
  const cells = result.cells.filter((c) => c.row_index === row && c.model_index === column);
  if (!cells.length) return null;
  const box = h("div", { class: "cell-metrics", "data-testid": "cell-metrics" });
  for (const c of cells)
    box.append(h("div", { "data-metric": c.metric, "data-value": c.value ?? "", title: c.note ?? "" }, `${c.metric}: ${num(c.value)}`));
  return box;
}

/** The compared models ranked per metric, best first, respecting whether higher or lower is better. */
export function metricsRanking(s: State, result: MetricsResponse, names: string[]): HTMLElement {
  const box = h("div", { class: "metrics-ranking", "data-testid": "metrics-ranking" }, h("h3", {}, "Ranking per metric (best first)"));
  for (const info of result.metrics) {
    const items = info.ranking.map((j, k) => {
      const sum = result.summary.find((x) => x.model_index === j && x.metric === info.name);
      return h("li", { "data-model-index": j }, `${k + 1}. ${names[j] ?? `model ${j + 1}`} (${num(sum?.mean)})`);
    });
    box.append(
      h(
        "div",
        { class: "ranking", "data-metric": info.name },
        h("span", { class: "metric-name" }, `${metricLabel(s, info.name)} — ${info.higher_is_better ? "higher" : "lower"} is better:`),
        h("ol", {}, ...items),
      ),
    );
  }
  return box;
}
