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

/** Every metric the server knows, in the order of docs/metrics.md. */
export const METRICS: { name: MetricName; label: string; region?: true }[] = [
  { name: "pixel-flipping", label: "pixel flipping (AOPC MoRF)" },
  { name: "region-perturbation", label: "region perturbation (AOPC MoRF)" },
  { name: "srg", label: "SRG (MoRF − LeRF AOPC, normalised)" },
  { name: "faithfulness-correlation", label: "faithfulness correlation" },
  { name: "sparseness", label: "sparseness (Gini of |R|)" },
  { name: "complexity", label: "complexity (entropy of |R|)" },
  { name: "mprt", label: "model-parameter randomisation" },
  { name: "random-logit", label: "class discrimination (random logit)" },
  { name: "relevance-mass", label: "relevance mass in region", region: true },
  { name: "pointing-game", label: "pointing game", region: true },
];

export interface MetricsState {
  picked: MetricName[];
  fill: FillName;
  result: MetricsResponse | null;
  /** What `result` was computed for; compared with the comparison's current key. */
  key: string | null;
  running: boolean;
}

type Listener = (m: MetricsState) => void;

/** The comparison's rows and models as a request body (null when there is nothing to measure). */
export function metricsBody(s: State, m: Pick<MetricsState, "picked" | "fill">): S["MetricsRequest"] | null {
  const models = s.compareIds.map((id) => modelById(s, id)).filter((x) => x !== null);
  if (!s.compareRows.length || !models.length || !m.picked.length) return null;
  const region = regionState.region;
  const local = m.picked.some((name) => METRICS.find((x) => x.name === name)?.region);
  if (local && !region) return null; // the localisation metrics need the region drawn in the result view
  return {
    ...(local && region ? { mask: regionMask(region) } : {}),
    rows: s.compareRows.map((r) => ({ image_id: r.imageId, class_index: r.classIndex })),
    models: models as S["LRPModel"][],
    metrics: m.picked,
    fill: m.fill,
    seed: 0,
    noise: 0.01,
  };
}

/** The part of a request a result belongs to: rows, models, fill and region (not the metric list). */
export function metricsKey(s: State, fill: FillName): string | null {
  const body = metricsBody(s, { picked: ["sparseness"], fill });
  return body && JSON.stringify([body.rows, body.models, body.fill, regionState.region]);
}

export class MetricsActions {
  state: MetricsState = { picked: ["sparseness", "complexity"], fill: "zero", result: null, key: null, running: false };
  private listeners = new Set<Listener>();

  constructor(readonly actions: Actions) {}

  subscribe(fn: Listener): void {
    this.listeners.add(fn);
  }

  private set(patch: Partial<MetricsState>): void {
    this.state = { ...this.state, ...patch };
    for (const fn of this.listeners) fn(this.state);
  }

  pick(picked: MetricName[], fill: FillName): void {
    this.set({ picked, fill });
  }

  /** Run the picked metrics over the comparison as a server job (progress and cancel in the top bar). */
  async run(): Promise<void> {
    const s = this.actions.store.get();
    const body = metricsBody(s, this.state);
    if (!body) return;
    const key = metricsKey(s, body.fill ?? "zero");
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
