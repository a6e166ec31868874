// Long work runs as server jobs: started here, followed by server-sent events, cancelled on request or
// when the selection it was started for changes. Job state lives in its own small store (plain data),
// so the progress view can follow it without touching the app store's shape.
import type { components } from "../api/schema";
import { ApiFailure, StaleResponse, type ApiService } from "../services/api";
import type { State, Store } from "./store";

type S = components["schemas"];
export type JobOut = S["JobOut"];
export type JobKind = JobOut["kind"];

export interface JobBodies {
  "flip-curve": S["CurveRequest"];
  neurons: S["NeuronsRequest"];
  "neuron-maps": S["NeuronMapsRequest"];
  "ablation-curve": S["AblationCurveRequest"];
  compare: S["CompareRequest"];
  metrics: S["MetricsRequest"];
  "network-load": S["NetworkLoadRequest"];
  landscape: S["LandscapeRequest"];
  recommend: S["RecommendRequest"];
}

export interface JobResults {
  "flip-curve": S["CurveResponse"];
  neurons: S["NeuronsResponse"];
  "neuron-maps": S["NeuronMapsResponse"];
  "ablation-curve": S["AblationCurveResponse"];
  compare: S["CompareResponse"];
  metrics: S["MetricsResponse"];
  "network-load": S["NetworkLoaded"];
  landscape: S["LandscapeResponse"];
  recommend: S["RecommendResponse"];
}

/** A job the page follows: the server's state plus what it was started for. */
export interface TrackedJob {
  job: JobOut;
  label: string;
  /** The selection the job belongs to (image, class, LRP model); null when it does not depend on one. */
  key: string | null;
}

/** Why a job's result was not shown: cancelled by the user, or its selection changed meanwhile. */
export class JobCancelled extends StaleResponse {
  constructor(readonly reason: string) {
    super();
    this.message = reason;
  }
}

/** The selection a result depends on: image, class and the LRP model of the shown heatmap. */
export function selectionKey(s: State): string | null {
  if (!s.image || s.classIndex == null || !s.explainModel) return null;
  return `${s.image.image_id}|${s.classIndex}|${JSON.stringify(s.explainModel)}`;
}

type Listener = (jobs: TrackedJob[]) => void;

export class JobActions {
  private tracked = new Map<string, TrackedJob>();
  private byChannel = new Map<string, string>();
  private rejecters = new Map<string, (err: Error) => void>();
  private listeners = new Set<Listener>();
  private cancelling = new Set<string>();

  constructor(
    readonly store: Store,
    readonly api: ApiService,
  ) {
    // A job whose selection changed is cancelled at once; its result would be for a view no longer shown.
    store.subscribe((s) => {
      const key = selectionKey(s);
      for (const t of this.tracked.values())
        if (t.key !== null && t.key !== key && !done(t.job)) this.cancel(t.job.id, `${t.label}: cancelled, the selection changed`);
    });
  }

  jobs(): TrackedJob[] {
    return [...this.tracked.values()];
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(): void {
    const list = this.jobs();
    for (const fn of this.listeners) fn(list);
  }

  /**
   * Start a job and resolve with its result. A newer job on the same `channel` cancels this one;
   * a cancelled job rejects with JobCancelled (its reason goes to the notice line, never silently).
   */
  async run<K extends JobKind>(kind: K, body: JobBodies[K], label: string, opts: { channel?: string; key?: string | null } = {}): Promise<JobResults[K]> {
    const channel = opts.channel ?? kind;
    const previous = this.byChannel.get(channel);
    if (previous) this.cancel(previous, `${this.tracked.get(previous)?.label ?? "job"}: replaced by a newer request`);
    const started = await this.api.call(() => this.api.client.POST(`/api/jobs/${kind}` as "/api/jobs/flip-curve", { body: body as JobBodies["flip-curve"] }));
    const key = opts.key === undefined ? selectionKey(this.store.get()) : opts.key;
    this.tracked.set(started.id, { job: started, label, key });
    this.byChannel.set(channel, started.id);
    this.emit();
    try {
      const final = await this.follow(started.id);
      if (final.status === "done") {
        const full = await this.api.call(() => this.api.client.GET("/api/jobs/{job_id}", { params: { path: { job_id: started.id } } }));
        // A finished job is a successful action: an old error banner no longer describes the page.
        if (this.store.get().error) this.store.set({ error: null });
        return full.result as JobResults[K];
      }
      if (final.status === "cancelled") throw new JobCancelled(`${label}: cancelled`);
      throw new ApiFailure(final.error ?? `${label} failed`);
    } finally {
      if (this.byChannel.get(channel) === started.id) this.byChannel.delete(channel);
      this.tracked.delete(started.id);
      this.rejecters.delete(started.id);
      this.cancelling.delete(started.id);
      this.emit();
    }
  }

  /** Follow a job's server-sent events until it ends; resolves with its last state. */
  private follow(id: string): Promise<JobOut> {
    return new Promise((resolve, reject) => {
      const source = new EventSource(`${window.location.origin}/api/jobs/${encodeURIComponent(id)}/events`);
      this.rejecters.set(id, (err) => {
        source.close();
        reject(err);
      });
      source.addEventListener("progress", (ev) => {
        const job = JSON.parse((ev as MessageEvent<string>).data) as JobOut;
        const t = this.tracked.get(id);
        if (t) this.tracked.set(id, { ...t, job });
        this.emit();
        if (done(job)) {
          source.close();
          resolve(job);
        }
      });
      source.onerror = () => {
        // The stream ends when the job does; a real loss of the server shows up in the next poll.
        void this.api.client.GET("/api/jobs/{job_id}", { params: { path: { job_id: id } } }).then(
          (r) => {
            if (r.data && done(r.data)) {
              source.close();
              resolve(r.data);
            }
          },
          () => undefined,
        );
      };
    });
  }

  /** Ask the server to stop a job; the page stops waiting for it at once and says why. */
  cancel(id: string, reason = "cancelled"): void {
    const t = this.tracked.get(id);
    if (!t || this.cancelling.has(id)) return;
    this.cancelling.add(id); // before the notice below: its store update runs the selection check again
    void this.api.client.POST("/api/jobs/{job_id}/cancel", { params: { path: { job_id: id } } });
    this.store.set({ notice: reason });
    this.rejecters.get(id)?.(new JobCancelled(reason));
  }

  cancelAll(reason: string): void {
    for (const id of [...this.tracked.keys()]) this.cancel(id, reason);
  }
}

function done(job: JobOut): boolean {
  return job.status === "done" || job.status === "failed" || job.status === "cancelled";
}
