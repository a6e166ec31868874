// The metrics suite for the comparison (issue 9): which metrics the user picked, and the last result
// with the (rows, models, fill) it was computed for, so a stale result is never shown under new columns.
import type { components } from "../api/schema";
import type { Actions } from "./actions";
import { StaleResponse } from "../services/api";
import { regionMask, regionState } from "./region";
import { modelById, type State } from "./store";

type S = components["schemas"];
export type MetricName = S["MetricsRequest"]["metrics"][number];
export type FillName = S["MetricsRequest"]["fill"];
export type MetricsResponse = S["MetricsResponse"];
export type MetricDescription = S["MetricDescription"];
export type FillInfo = S["FillInfo"];

/** Every metric the server knows, in the order of docs/metrics.md (from /api/info: the server's registry). */
export function metricList(s: Pick<State, "info">): MetricDescription[] {
  return s.info?.metrics ?? [];
}

/** The server's description of a metric (undefined until /api/info has loaded). */
export function metricOf(s: Pick<State, "info">, name: string): MetricDescription | undefined {
  return s.info?.metrics.find((m) => m.name === name);
}

/** The server's label of a metric, for lists and sentences. */
export function metricLabel(s: Pick<State, "info">, name: string): string {
  return metricOf(s, name)?.label ?? name;
}

/** Every fill mode the server knows (from /api/info). */
export function fillList(s: Pick<State, "info">): FillInfo[] {
  return s.info?.fills ?? [];
}

/** The server's label of a fill mode. */
export function fillLabel(s: Pick<State, "info">, name: string): string {
  return s.info?.fills.find((f) => f.name === name)?.label ?? name;
}

export interface MetricsState {
  picked: MetricName[];
  /** null until /api/info names the default. */
  fill: FillName | null;
  result: MetricsResponse | null;
  /** What `result` was computed for; compared with the comparison's current key. */
  key: string | null;
  running: boolean;
}

type Listener = (m: MetricsState) => void;

/** The comparison's rows and models (null when there is nothing to measure). */
function cells(s: State): Pick<S["MetricsRequest"], "rows" | "models"> | null {
  const models = s.compareIds.map((id) => modelById(s, id)).filter((x) => x !== null);
  if (!s.compareRows.length || !models.length) return null;
  return { rows: s.compareRows.map((r) => ({ image_id: r.imageId, class_index: r.classIndex })), models: models as S["LRPModel"][] };
}

/** The comparison's rows and models as a request body (null when there is nothing to measure). */
export function metricsBody(s: State, m: Pick<MetricsState, "picked" | "fill">): S["MetricsRequest"] | null {
  const c = cells(s);
  if (!c || !m.picked.length || m.fill === null) return null;
  const region = regionState.region;
  const local = m.picked.some((name) => metricOf(s, name)?.needs_region);
  if (local && !region) return null; // the localisation metrics need the region drawn in the result view
  return {
    ...(local && region ? { mask: regionMask(region) } : {}),
    rows: c.rows,
    models: c.models,
    metrics: m.picked,
    fill: m.fill,
    seed: 0,
    noise: 0.01,
  };
}

/** The part of a request a result belongs to: rows, models, fill and region (not the metric list). */
export function metricsKey(s: State, fill: FillName | null): string | null {
  const c = cells(s);
  return c && fill !== null ? JSON.stringify([c.rows, c.models, fill, regionState.region]) : null;
}

/** The comparison's models as the metrics request for them would send them (null when there is nothing to measure). */
export function metricsModels(s: State): S["LRPModel"][] | null {
  return cells(s)?.models ?? null;
}

export class MetricsActions {
  state: MetricsState = { picked: [], fill: null, result: null, key: null, running: false };
  private listeners = new Set<Listener>();

  constructor(readonly actions: Actions) {
    // The first picks and fill are the server's defaults, once /api/info has named them.
    const start = (s: State) => {
      if (s.info && this.state.fill === null) this.set({ picked: [...s.info.defaults.metrics], fill: s.info.defaults.fill });
    };
    actions.store.subscribe(start);
    start(actions.store.get());
  }

  subscribe(fn: Listener): void {
    this.listeners.add(fn);
  }

  private set(patch: Partial<MetricsState>): void {
    this.state = { ...this.state, ...patch };
    for (const fn of this.listeners) fn(this.state);
  }

  pick(picked: MetricName[], fill: FillName | null): void {
    this.set({ picked, fill });
  }

  /** Run the picked metrics over the comparison as a server job (progress and cancel in the top bar). */
  async run(): Promise<void> {
    const s = this.actions.store.get();
    const body = metricsBody(s, this.state);
    if (!body) return;
    const key = metricsKey(s, body.fill ?? null);
    const label = `metrics (${body.metrics.length}) of ${body.rows.length * body.models.length} cells`;
    this.set({ running: true });
    try {
      const jobs = this.actions.jobs;
      const result = jobs
        ? await jobs.run("metrics", body, label, { key: null, channel: "metrics" })
        : await this.actions.api.call(() => this.actions.api.client.POST("/api/metrics", { body }), "metrics");
      this.set({ result, key, running: false });
    } catch (err) {
      this.set({ running: false });
      if (!(err instanceof StaleResponse)) this.actions.reportError(err);
    }
  }
}
