// Actions of the pixel-flipping (V5) and neuron-ablation (V6) views. They start from what the result
// view shows: its image, class and the LRP model its heatmap was computed with.
import type { FlipMode } from "../api/types";
import type { components } from "../api/schema";
import { labelOf, regionFills, regionModes } from "../lib/brush";
import { clone } from "../lib/segments";
import { type Actions } from "./actions";
import { JobCancelled, type JobActions } from "./jobs";
import type { BrushSettings, FlipRow, State } from "./store";

const MAX_MAPS = 16;

function encodeMask(mask: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < mask.length; i += 0x8000) bin += String.fromCharCode(...mask.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** The fills a flipping curve takes: the flip modes plus ROAD. */
export type CurveFill = components["schemas"]["CurveRequest"]["mode"];

export class AnalysisActions {
  private nextRow = 1;
  private mapsTimer: number | undefined;
  private ablateTimer: number | undefined;

  constructor(
    readonly base: Actions,
    readonly jobs: JobActions,
  ) {
    const { store } = base;
    // A new image, class or heatmap model invalidates every result computed from the old one.
    store.subscribe((s, p) => {
      const imageChanged = s.image?.image_id !== p.image?.image_id;
      if (imageChanged || s.classIndex !== p.classIndex || s.explainModel !== p.explainModel) {
        const size = s.image?.size ?? 224;
        const rows = imageChanged ? [this.newRow(size)] : s.flipRows.map((r) => ({ ...r, result: null }));
        store.set({ flipRows: rows, flipCurve: null, flipCurveStale: null, neurons: null, neuronMaps: null, ablation: null, ablationCurve: null });
        for (const r of rows) if (r.mask.some((v) => v)) this.scheduleFlip(r.id, 0);
        if (s.ablationLayer != null && s.explainModel) void this.loadNeurons(s.ablationLayer, imageChanged);
      }
    });
  }

  get store() {
    return this.base.store;
  }

  private ready(): { s: State; imageId: string; classIndex: number } | null {
    const s = this.store.get();
    if (!s.image || s.classIndex == null) return null;
    return { s, imageId: s.image.image_id, classIndex: s.classIndex };
  }

  private newRow(size: number): FlipRow {
    return { id: this.nextRow++, mask: new Uint8Array(size * size), undo: [], brush: { shape: "circle", erase: false, fill: "view" }, result: null };
  }

  // ------------------------------------------------------------------ V5 rows
  /** Rows brought back from the saved workspace (with fresh ids) and the view's settings; their new top-10s are
   * asked for again. */
  restoreFlipRows(rows: { mask: Uint8Array; brush: BrushSettings }[], patch: Partial<State> = {}): void {
    const flipRows = rows.map((r): FlipRow => ({ id: this.nextRow++, mask: r.mask, undo: [], brush: r.brush, result: null }));
    this.store.set({ ...patch, flipRows });
    for (const r of flipRows) if (r.mask.some((v) => v)) this.scheduleFlip(r.id, 0);
  }

  addFlipRow(): void {
    const s = this.store.get();
    this.store.set({ flipRows: [...s.flipRows, this.newRow(s.image?.size ?? 224)] });
  }

  removeFlipRow(id: number): void {
    this.store.set({ flipRows: this.store.get().flipRows.filter((r) => r.id !== id) });
  }

  private updateRow(id: number, patch: Partial<FlipRow>): void {
    this.store.set({ flipRows: this.store.get().flipRows.map((r) => (r.id === id ? { ...r, ...patch } : r)) });
  }

  setRowBrush(id: number, patch: Partial<BrushSettings>): void {
    const r = this.row(id);
    if (r) this.updateRow(id, { brush: { ...r.brush, ...patch } });
  }

  row(id: number): FlipRow | undefined {
    return this.store.get().flipRows.find((r) => r.id === id);
  }

  /** Remember the current mask so the next change can be undone (called when a stroke starts). */
  pushUndo(id: number): void {
    const r = this.row(id);
    if (r) this.updateRow(id, { undo: [...r.undo.slice(-19), r.mask.slice()] });
  }

  /** A new mask for a row (the view edits a copy during a stroke); `delay` throttles the prediction. */
  setMask(id: number, mask: Uint8Array, delay = 0): void {
    this.updateRow(id, { mask });
    this.scheduleFlip(id, delay);
  }

  undo(id: number): void {
    const r = this.row(id);
    if (!r || !r.undo.length) return;
    this.updateRow(id, { mask: r.undo[r.undo.length - 1], undo: r.undo.slice(0, -1) });
    this.scheduleFlip(id, 0);
  }

  clearMask(id: number): void {
    const r = this.row(id);
    if (!r) return;
    this.pushUndo(id);
    this.updateRow(id, { mask: new Uint8Array(r.mask.length), result: null });
  }

  /** Flip the top `percent` % most (or least) relevant pixels of the result view's heatmap. */
  flipTopPercent(id: number, percent: number, most: boolean): void {
    const s = this.store.get();
    const r = this.row(id);
    const hm = s.explain?.heatmap;
    if (!r || !hm || hm.kind !== "map") return;
    const bin = atob(hm.data);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const v = new Float32Array(bytes.buffer);
    const order = Array.from(v.keys()).sort((a, b) => (most ? v[b] - v[a] : v[a] - v[b]));
    const n = Math.round((Math.max(0, Math.min(100, percent)) / 100) * v.length);
    const mask = new Uint8Array(r.mask.length);
    const label = labelOf(r.brush.fill, regionFills(s.info));
    for (let i = 0; i < n; i++) mask[order[i]] = label;
    this.pushUndo(id);
    this.setMask(id, mask);
  }

  setFlipMode(flipMode: FlipMode): void {
    this.store.set({ flipMode });
    for (const r of this.store.get().flipRows) if (r.mask.some((v) => v)) this.scheduleFlip(r.id, 0);
  }

  setBrush(flipBrush: number): void {
    this.store.set({ flipBrush });
  }

  private flipTimers = new Map<number, number>();
  private flipLast = new Map<number, number>();

  /** Throttle: at most one request per `delay` ms per row while a stroke goes on; the last one always runs. */
  scheduleFlip(id: number, delay: number): void {
    const since = performance.now() - (this.flipLast.get(id) ?? 0);
    window.clearTimeout(this.flipTimers.get(id));
    if (delay === 0 || since >= delay) {
      this.flipLast.set(id, performance.now());
      void this.runFlip(id);
    } else {
      this.flipTimers.set(id, window.setTimeout(() => this.scheduleFlip(id, 0), delay - since));
    }
  }

  async runFlip(id: number): Promise<void> {
    const ctx = this.ready();
    const r = this.row(id);
    if (!ctx || !r || !ctx.s.flipMode) return;
    const mode = ctx.s.flipMode;
    if (!r.mask.some((v) => v)) {
      this.updateRow(id, { result: null });
      return;
    }
    const size = ctx.s.image!.size;
    try {
      const result = await this.base.api.call(
        () =>
          this.base.api.client.POST("/api/flip", {
            body: {
              image_id: ctx.imageId,
              class_index: ctx.classIndex,
              mode,
              // Each region flips with its own fill; label 1 follows the view's mode.
              region_modes: regionModes(mode, regionFills(ctx.s.info)),
              mask: { shape: [size, size], data: encodeMask(r.mask) },
            },
          }),
        `flip-${id}`,
      );
      if (this.row(id)) this.updateRow(id, { result });
    } catch (err) {
      this.base.reportError(err);
    }
  }

  /** `fill` overrides the view's flip mode for the curves only (ROAD imputation depends on the mask, so brushes lack it). */
  async runCurve(steps: number, patch: number, fill?: CurveFill): Promise<void> {
    const ctx = this.ready();
    const model = ctx?.s.explainModel;
    const mode = fill ?? ctx?.s.flipMode;
    if (!ctx || !model || !mode) return;
    try {
      const body = { image_id: ctx.imageId, class_index: ctx.classIndex, model: clone(model), orders: ["morf", "lerf", "random"] as ("morf" | "lerf" | "random")[], steps, patch, mode, seed: 0, noise: 0.01 };
      const flipCurve = await this.jobs.run("flip-curve", body, "flip curves");
      this.store.set({ flipCurve, flipCurveStale: null });
    } catch (err) {
      // The curves on screen stay, but the controls now describe the run that did not finish: say so.
      const what = `${steps} steps, ${patch === 1 ? "pixels" : `${patch}×${patch} patches`}, fill ${mode}`;
      if (this.store.get().flipCurve) this.store.set({ flipCurveStale: `${err instanceof JobCancelled ? "cancelled" : "failed"}: the run with ${what}` });
      this.base.reportError(err);
    }
  }

  // ------------------------------------------------------------------ V6
  async loadNeurons(layer: number, keepSelection = false): Promise<void> {
    const ctx = this.ready();
    const model = ctx?.s.explainModel;
    this.store.set({ ablationLayer: layer });
    if (!ctx || !model) return;
    const sameLayer = keepSelection && ctx.s.neurons?.layer_index === layer;
    if (!sameLayer) this.store.set({ neurons: null, neuronSelection: [], neuronMaps: null, ablation: null, ablationCurve: null });
    try {
      const body = { image_id: ctx.imageId, class_index: ctx.classIndex, model: clone(model), layer_index: layer };
      const neurons = await this.jobs.run("neurons", body, "neuron table");
      this.store.set({ neurons });
      if (this.store.get().neuronSelection.length) this.selectionChanged();
      void this.runAblationCurve();
    } catch (err) {
      this.base.reportError(err);
    }
  }

  setSelection(channels: number[]): void {
    this.store.set({ neuronSelection: [...new Set(channels)].sort((a, b) => a - b) });
    this.selectionChanged();
  }

  toggleNeuron(channel: number): void {
    const sel = this.store.get().neuronSelection;
    this.setSelection(sel.includes(channel) ? sel.filter((c) => c !== channel) : [...sel, channel]);
  }

  private selectionChanged(): void {
    window.clearTimeout(this.mapsTimer);
    window.clearTimeout(this.ablateTimer);
    if (!this.store.get().neuronSelection.length) {
      this.store.set({ neuronMaps: null, ablation: null });
      return;
    }
    this.mapsTimer = window.setTimeout(() => void this.runMaps(), 250);
    this.ablateTimer = window.setTimeout(() => void this.runAblate(), 250);
  }

  async runMaps(): Promise<void> {
    const ctx = this.ready();
    const model = ctx?.s.explainModel;
    const layer = ctx?.s.neurons?.layer_index;
    if (!ctx || !model || layer == null) return;
    // The most relevant of the selection first; the maps of at most MAX_MAPS are computed.
    const pos = new Map(ctx.s.neurons!.neurons.map((n) => [n.channel, n.pos + n.neg]));
    const channels = [...ctx.s.neuronSelection].sort((a, b) => (pos.get(b) ?? 0) - (pos.get(a) ?? 0)).slice(0, MAX_MAPS);
    try {
      const body = { image_id: ctx.imageId, class_index: ctx.classIndex, model: clone(model), layer_index: layer, channels };
      const neuronMaps = await this.jobs.run("neuron-maps", body, "neuron maps");
      this.store.set({ neuronMaps });
    } catch (err) {
      this.base.reportError(err);
    }
  }

  async runAblate(): Promise<void> {
    const ctx = this.ready();
    const layer = ctx?.s.neurons?.layer_index;
    if (!ctx || layer == null || !ctx.s.neuronSelection.length) return;
    try {
      const ablation = await this.base.api.call(
        () =>
          this.base.api.client.POST("/api/ablate", {
            body: { image_id: ctx.imageId, class_index: ctx.classIndex, layer_index: layer, channels: ctx.s.neuronSelection },
          }),
        "ablate",
      );
      this.store.set({ ablation });
    } catch (err) {
      this.base.reportError(err);
    }
  }

  async runAblationCurve(): Promise<void> {
    const ctx = this.ready();
    const model = ctx?.s.explainModel;
    const layer = ctx?.s.neurons?.layer_index;
    if (!ctx || !model || layer == null) return;
    try {
      const body = { image_id: ctx.imageId, class_index: ctx.classIndex, model: clone(model), layer_index: layer, seed: 0 };
      const ablationCurve = await this.jobs.run("ablation-curve", body, "ablation curve");
      this.store.set({ ablationCurve });
    } catch (err) {
      this.base.reportError(err);
    }
  }
}
