// Everything the views can ask for. Actions call the API service and write results into the store.
import type { LRPModel, StoredModel } from "../api/types";
import { ApiService, StaleResponse } from "../services/api";
import { clone, sameModel, withPartDefaults } from "../lib/segments";
import { draftName, nameRoot, sameDesign } from "../lib/drafts";
import { parseSpec, startCaption, startSpec } from "../lib/start";
import { rowLabel } from "./rows";
import { activeModel, modelById, type DraftHistory, type State, type Store } from "./store";
import type { JobActions } from "./jobs";

const TAB_KEY = "vislrp-designer-tab";

/** The image of the tab: a sample by name, or an upload by its id in the server's photo store. */
interface TabImage {
  sample?: string;
  photo?: string;
}

type TabState = Pick<State, "activeId" | "colormap" | "compareIds" | "sharedScale" | "compareLogit"> & { image?: TabImage };

/**
 * An import file's text with the attention and LayerNorm rules that a model written before contract
 * version 2 lacks taken from the designer's default model; text that is not JSON goes as it is, so the
 * server words the error.
 */
function withDefaultParts(content: string, defaults: LRPModel | undefined): string {
  if (!defaults) return content;
  let data: unknown;
  try {
    data = JSON.parse(content);
  } catch {
    return content;
  }
  return JSON.stringify(withPartDefaults(data, defaults));
}

export class Actions {
  private explainTimer: number | undefined;
  private compareTimer: number | undefined;
  private lastEdit: { id: number; key: string; at: number } | null = null;

  /** Set by main.ts: where long work runs as server jobs. */
  jobs: JobActions | null = null;

  constructor(
    readonly store: Store,
    readonly api: ApiService,
  ) {
    // Per-tab UI state lives in sessionStorage, so two tabs never share a selection.
    store.subscribe((s, p) => {
      if (s.activeId !== p.activeId || s.colormap !== p.colormap || s.compareIds !== p.compareIds || s.sharedScale !== p.sharedScale || s.compareLogit !== p.compareLogit || s.image !== p.image) {
        const image: TabImage | undefined = s.image?.photo_id ? { photo: s.image.photo_id } : s.image ? { sample: s.image.source } : undefined;
        const tab: TabState = { activeId: s.activeId, colormap: s.colormap, compareIds: s.compareIds, sharedScale: s.sharedScale, compareLogit: s.compareLogit, image };
        sessionStorage.setItem(TAB_KEY, JSON.stringify(tab));
      }
    });
  }

  /** Show an API failure in the error bar (a superseded request is not a failure). */
  reportError(err: unknown): void {
    this.report(err);
  }

  private report(err: unknown): void {
    if (err instanceof StaleResponse) return;
    this.store.set({ error: err instanceof Error ? err.message : String(err) });
  }

  dismissError(): void {
    this.store.set({ error: null });
  }

  // ------------------------------------------------------------------ start-up
  async init(): Promise<void> {
    try {
      const info = await this.api.call(() => this.api.client.GET("/api/info"));
      const saved = JSON.parse(sessionStorage.getItem(TAB_KEY) ?? "{}") as Partial<TabState>;
      const colormap = info.colormaps.some((c) => c.name === saved.colormap) ? saved.colormap! : info.default_colormap;
      const start = { kind: parseSpec(info.default_start).kind, other: null };
      this.store.set({ info, colormap, start, flipMode: this.store.get().flipMode ?? info.defaults.flip_mode, sharedScale: saved.sharedScale ?? false, compareLogit: !!saved.sharedScale && !!saved.compareLogit });
      const models = await this.refreshModels();
      const ids = new Set(models.map((m) => m.id));
      const activeId = saved.activeId != null && ids.has(saved.activeId) ? saved.activeId : (models[0]?.id ?? null);
      const compareIds = (saved.compareIds ?? []).filter((id) => ids.has(id));
      this.store.set({ activeId, compareIds });
      const photos = await this.refreshPhotos();
      // After a reload the tab gets its image back: its upload (if still stored) or its sample.
      const photo = saved.image?.photo;
      const sample = saved.image?.sample && info.samples.some((x) => x.name === saved.image!.sample) ? saved.image.sample : info.default_sample;
      if (photo && photos.some((p) => p.id === photo)) await this.openPhoto(photo);
      else if (sample) await this.loadSample(sample);
    } catch (err) {
      this.report(err);
    }
  }

  async refreshModels() {
    const models = await this.api.call(() => this.api.client.GET("/api/models"));
    this.store.set({ models });
    return models;
  }

  // ------------------------------------------------------------------ images and classes
  private async setImage(run: () => Promise<State["image"]>): Promise<void> {
    this.store.set({ error: null });
    try {
      const image = await run();
      if (!image) return;
      // A new prediction: a contrast goes back to its default class (the new image's second-highest).
      const start = { ...this.store.get().start, other: null };
      this.store.set({ image, classIndex: image.topk[0]?.index ?? null, start, explain: null, explainModel: null });
      await this.explainNow();
    } catch (err) {
      this.report(err);
    }
  }

  loadSample(name: string): Promise<void> {
    return this.setImage(() => this.api.call(() => this.api.client.POST("/api/images/sample", { body: { name } }), "image"));
  }

  async refreshPhotos() {
    const photos = await this.api.call(() => this.api.client.GET("/api/photos"));
    this.store.set({ photos });
    return photos;
  }

  /** Make a stored upload the current image again. */
  openPhoto(photoId: string): Promise<void> {
    return this.setImage(() =>
      this.api.call(() => this.api.client.POST("/api/photos/{photo_id}/open", { params: { path: { photo_id: photoId } } }), "image"),
    );
  }

  /** Delete a stored upload; when it is the image on screen, the page goes back to the default sample, so no
   * photo, heatmap or caption of a deleted upload stays shown. */
  async deletePhoto(photoId: string): Promise<void> {
    try {
      await this.api.call(() => this.api.client.DELETE("/api/photos/{photo_id}", { params: { path: { photo_id: photoId } } }));
      const { image, info } = this.store.get();
      const shown = image?.photo_id === photoId;
      await this.refreshPhotos();
      if (shown) {
        this.store.set({ image: { ...image, photo_id: null } });
        if (info?.default_sample) await this.loadSample(info.default_sample);
      }
      this.store.set({ notice: shown ? `Photo deleted from the store; showing the sample ${info?.default_sample ?? ""}` : "Photo deleted from the store" });
    } catch (err) {
      this.report(err);
    }
  }

  uploadFile(file: File): Promise<void> {
    const info = this.store.get().info;
    if (info && file.size > info.max_upload_bytes) {
      this.store.set({ error: `${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MB, over the ${Math.floor(info.max_upload_bytes / 2 ** 20)} MB limit` });
      return Promise.resolve();
    }
    return this.setImage(() => this.api.upload(file)).then(() => void this.refreshPhotos().catch((err) => this.report(err)));
  }

  selectClass(classIndex: number): Promise<void> {
    this.store.set({ classIndex, error: null });
    return this.explainNow();
  }

  /**
   * Pick the result view's start rule: a kind from /api/info, and for a kind that takes one the class to contrast
   * with (null: the highest class other than the target). The heatmap is explained again.
   */
  setStart(kind: string, other: number | null = null): Promise<void> {
    this.store.set({ start: { kind, other }, error: null });
    return this.explainNow();
  }

  /** The result view's start rule as the API takes it, for the shown image and class. */
  currentStart(s: State = this.store.get()): string | null {
    if (!s.info) return null;
    return startSpec(s.info, s.start, s.image?.topk ?? [], s.classIndex);
  }

  // ------------------------------------------------------------------ explain
  scheduleExplain(delay = 180): void {
    window.clearTimeout(this.explainTimer);
    this.explainTimer = window.setTimeout(() => void this.explainNow(), delay);
  }

  async explainNow(): Promise<void> {
    window.clearTimeout(this.explainTimer);
    const s = this.store.get();
    const model = activeModel(s);
    const start = this.currentStart(s);
    if (!s.image || s.classIndex == null || !model || start == null) return;
    const snapshot = clone(model);
    try {
      const explain = await this.api.call(
        () =>
          this.api.client.POST("/api/explain", {
            body: { image_id: s.image!.image_id, class_index: s.classIndex!, model: snapshot, intermediate: true, start },
          }),
        "explain",
      );
      this.store.set({ explain, explainModel: snapshot });
    } catch (err) {
      this.report(err);
    }
  }

  // ------------------------------------------------------------------ models
  setActive(id: number): void {
    if (this.store.get().activeId === id) return;
    this.store.set({ activeId: id, selectedSegment: 0, error: null });
    void this.explainNow();
  }

  /**
   * Replace the active model's draft (unsaved edits) and recompute the heatmap soon. The model before
   * the edit goes on the undo stack; edits with the same `coalesce` key less than a second apart (one
   * slider drag) make one undo step.
   */
  editActive(model: LRPModel, delay = 180, coalesce?: string): void {
    const s = this.store.get();
    if (s.activeId == null) return;
    const id = s.activeId;
    const before = activeModel(s);
    const now = performance.now();
    const merge = !!coalesce && this.lastEdit?.id === id && this.lastEdit.key === coalesce && now - this.lastEdit.at < 1000;
    this.lastEdit = coalesce ? { id, key: coalesce, at: now } : null;
    const history = merge || !before ? s.history : pushHistory(s.history, id, before);
    this.setDraft(id, model, { history });
    this.scheduleExplain(delay);
  }

  /** The draft of model `id` becomes `model`, or no draft where `model` equals the stored version. */
  private setDraft(id: number, model: LRPModel, patch: Partial<State> = {}): void {
    const s = this.store.get();
    const stored = s.models.find((m) => m.id === id)?.model;
    const drafts = { ...s.drafts };
    if (stored && sameModel(stored, model)) delete drafts[id];
    else drafts[id] = model;
    const selectedSegment = id === s.activeId ? Math.min(s.selectedSegment, model.segments.length - 1) : s.selectedSegment;
    this.store.set({ drafts, selectedSegment, error: null, ...patch });
  }

  /** Step the active model one edit back (undo) or forward (redo); the heatmap follows at once. */
  undo(): void {
    this.step(true);
  }

  redo(): void {
    this.step(false);
  }

  private step(back: boolean): void {
    const s = this.store.get();
    const id = s.activeId;
    const current = activeModel(s);
    const h = id != null ? s.history[id] : undefined;
    if (id == null || !current || !h) return;
    const from = back ? h.past : h.future;
    const target = from[from.length - 1];
    if (!target) return;
    const rest = from.slice(0, -1);
    const other = [...(back ? h.future : h.past), clone(current)];
    const next: DraftHistory = back ? { past: rest, future: other } : { past: other, future: rest };
    this.lastEdit = null;
    this.setDraft(id, clone(target), { history: { ...s.history, [id]: next } });
    this.scheduleExplain(0);
  }

  selectSegment(k: number): void {
    this.store.set({ selectedSegment: k });
  }

  private dropDraft(id: number): Record<number, LRPModel> {
    const drafts = { ...this.store.get().drafts };
    delete drafts[id];
    return drafts;
  }

  async saveActive(): Promise<void> {
    const s = this.store.get();
    const id = s.activeId;
    const draft = id != null ? s.drafts[id] : undefined;
    if (id == null || !draft) return;
    try {
      await this.api.call(() => this.api.client.PUT("/api/models/{model_id}", { params: { path: { model_id: id } }, body: draft }));
      this.store.set({ drafts: this.dropDraft(id), notice: `Saved “${draft.name}”` });
      await this.refreshModels();
    } catch (err) {
      this.report(err);
    }
  }

  /** Explain the active model without its bias terms: one undoable edit of its draft (the faint-map notice's button). */
  excludeBias(): void {
    const model = activeModel(this.store.get());
    if (!model || !model.include_bias) return;
    this.editActive({ ...clone(model), include_bias: false }, 0);
    this.store.set({ notice: "The bias is now excluded (Ctrl+Z brings it back)" });
  }

  /** Drop the unsaved edits (an undoable step). */
  revertActive(): void {
    const s = this.store.get();
    const id = s.activeId;
    const draft = id != null ? s.drafts[id] : undefined;
    if (id == null || !draft) return;
    this.lastEdit = null;
    this.store.set({ drafts: this.dropDraft(id), history: pushHistory(s.history, id, draft) });
    void this.explainNow();
  }

  async createModel(name: string): Promise<void> {
    const s = this.store.get();
    if (!s.info) return;
    const base = clone(activeModel(s) ?? s.info.default_model);
    this.store.set({ error: null });
    try {
      const created = await this.api.call(() => this.api.client.POST("/api/models", { body: { ...base, name: name.trim() } }));
      await this.refreshModels();
      this.setActive(created.id);
    } catch (err) {
      this.report(err);
    }
  }

  async renameModel(id: number, name: string): Promise<void> {
    try {
      await this.api.call(() =>
        this.api.client.POST("/api/models/{model_id}/rename", { params: { path: { model_id: id } }, body: { name: name.trim() } }),
      );
      const drafts = this.store.get().drafts;
      if (drafts[id]) this.store.set({ drafts: { ...drafts, [id]: { ...drafts[id], name: name.trim() } } });
      await this.refreshModels();
    } catch (err) {
      this.report(err);
    }
  }

  async duplicateModel(id: number): Promise<void> {
    try {
      const copy = await this.api.call(() =>
        this.api.client.POST("/api/models/{model_id}/duplicate", { params: { path: { model_id: id } }, body: {} }),
      );
      await this.refreshModels();
      this.setActive(copy.id);
    } catch (err) {
      this.report(err);
    }
  }

  async deleteModel(id: number): Promise<void> {
    try {
      await this.api.call(() => this.api.client.DELETE("/api/models/{model_id}", { params: { path: { model_id: id } } }));
      const models = await this.refreshModels();
      const s = this.store.get();
      const history = { ...s.history };
      delete history[id];
      const patch: Partial<State> = { drafts: this.dropDraft(id), history, compareIds: s.compareIds.filter((c) => c !== id) };
      if (s.activeId === id) {
        patch.activeId = models[0]?.id ?? null;
        patch.selectedSegment = 0;
      }
      this.store.set(patch);
      if (s.activeId === id) void this.explainNow();
    } catch (err) {
      this.report(err);
    }
  }

  async importFile(file: File): Promise<void> {
    this.store.set({ error: null });
    try {
      const content = withDefaultParts(await file.text(), this.store.get().info?.default_model);
      const added = await this.api.call(() => this.api.client.POST("/api/models/import", { body: { content } }));
      await this.refreshModels();
      this.store.set({ notice: `Imported ${added.map((m) => `“${m.model.name}”`).join(", ")}` });
    } catch (err) {
      this.report(err);
    }
  }

  /**
   * Store a design in the model manager without changing the active model (recommendations' "Add").
   * The import route renames a taken name, so the notice names the model as stored; null on failure.
   */
  async addModel(model: LRPModel): Promise<StoredModel | null> {
    const existing = this.store.get().models.find((m) => sameDesign(m.model, model));
    if (existing) {
      // the same design is stored already (under whatever name): no "… 2" copy
      this.store.set({ notice: `“${existing.model.name}” already holds this design: nothing added` });
      return existing;
    }
    try {
      const added = await this.api.call(() => this.api.client.POST("/api/models/import", { body: { content: JSON.stringify(model) } }));
      await this.refreshModels();
      const stored = added[0] ?? null;
      if (stored) this.store.set({ notice: `Added “${stored.model.name}” to the models` });
      return stored;
    } catch (err) {
      this.report(err);
      return null;
    }
  }

  /**
   * Load a design (a landscape point, a recommendation) as a NEW model named after its base and what
   * differs ("EpsilonGammaBox · γ₁₊=0.25 (draft)"), made active; no stored model is renamed or changed.
   * `baseId`: the stored model it varies (a landscape's swept model); null: the stored model whose name it
   * shares, else none. A design that is stored already is selected instead of copied.
   */
  async loadAsDraft(model: LRPModel, baseId: number | null = null): Promise<StoredModel | null> {
    const s = this.store.get();
    const existing = s.models.find((m) => sameDesign(m.model, model));
    if (existing) {
      this.setActive(existing.id);
      this.store.set({ notice: `“${existing.model.name}” already holds this design: selected it` });
      return existing;
    }
    const root = nameRoot(model.name);
    const base =
      (baseId != null ? s.models.find((m) => m.id === baseId) : undefined) ??
      s.models.find((m) => m.id === s.activeId && nameRoot(m.model.name) === root) ??
      s.models.find((m) => nameRoot(m.model.name) === root);
    const name = draftName(model, base ? (modelById(s, base.id) ?? base.model) : null);
    try {
      const [created] = await this.api.call(() => this.api.client.POST("/api/models/import", { body: { content: JSON.stringify({ ...clone(model), name }) } }));
      await this.refreshModels();
      if (!created) return null;
      const origins = { ...this.store.get().origins, [created.id]: base?.id ?? s.activeId ?? created.id };
      this.store.set({ origins });
      this.setActive(created.id);
      this.store.set({ notice: `New model “${created.model.name}”${base ? ` (“${base.model.name}” is unchanged)` : ""}` });
      return created;
    } catch (err) {
      this.report(err);
      return null;
    }
  }

  /** The stored model that holds the designer's default design (same design, else same name), stored first if none does. */
  async defaultModelId(): Promise<number | null> {
    const s = this.store.get();
    const def = s.info?.default_model;
    if (!def) return null;
    const found = s.models.find((m) => sameDesign(m.model, def)) ?? s.models.find((m) => m.model.name === def.name);
    if (found) return found.id;
    const stored = await this.addModel(def);
    return stored?.id ?? null;
  }

  /**
   * One click from a draft to a comparison: the active model and `other` (the default, or the model the
   * draft came from) become the comparison's columns, and the shown image and class a row.
   */
  async compareActiveWith(which: "default" | "origin"): Promise<void> {
    const s = this.store.get();
    const id = s.activeId;
    if (id == null) return;
    const other = which === "default" ? await this.defaultModelId() : (s.origins[id] ?? null);
    if (other == null) return;
    const ids = other === id ? [id] : [id, other];
    this.store.set({ compareIds: ids, error: null });
    this.addCompareRow();
    this.scheduleCompare(0);
  }

  /** Download a model (its unsaved draft if there is one) as a JSON file. */
  exportModel(id: number): void {
    const model = modelById(this.store.get(), id);
    if (!model) return;
    const slug = model.name.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-|-$/g, "") || "lrp-model";
    download(`${slug}.json`, JSON.stringify(model, null, 2));
  }

  exportAll(): void {
    const s = this.store.get();
    download("lrp-models.json", JSON.stringify(s.models.map((m) => modelById(s, m.id)), null, 2));
  }

  // ------------------------------------------------------------------ landscape and recommendations
  /** View H's sweep as it starts, streams and finishes (null: none shown). */
  showLandscape(landscape: State["landscape"]): void {
    this.store.set({ landscape });
  }

  /** The recommendations view's last result (null: none shown). */
  showRecommendation(recommendation: State["recommendation"]): void {
    this.store.set({ recommendation });
  }

  // ------------------------------------------------------------------ colour and comparison
  setColormap(colormap: string): void {
    this.store.set({ colormap });
  }

  toggleCompare(id: number, on: boolean): void {
    const ids = this.store.get().compareIds.filter((c) => c !== id);
    this.store.set({ compareIds: on ? [...ids, id] : ids });
    this.scheduleCompare();
  }

  addCompareRow(): void {
    const s = this.store.get();
    const start = this.currentStart(s);
    if (!s.image || s.classIndex == null || start == null) return;
    const topk = s.image.topk;
    const label = topk.find((p) => p.index === s.classIndex)?.label ?? `class ${s.classIndex}`;
    const caption = startCaption(start, (i) => topk.find((p) => p.index === i)?.label);
    const row = { imageId: s.image.image_id, source: s.image.source, photoId: s.image.photo_id ?? null, classIndex: s.classIndex, label, start, startCaption: caption };
    // The same image and class may come back under another start rule: the rows then differ only in it.
    if (s.compareRows.some((r) => r.imageId === row.imageId && r.classIndex === row.classIndex && r.start === row.start)) return;
    this.store.set({ compareRows: [...s.compareRows, row] });
    this.scheduleCompare(0);
  }

  removeCompareRow(i: number): void {
    this.store.set({ compareRows: this.store.get().compareRows.filter((_, j) => j !== i) });
    this.scheduleCompare(0);
  }

  setSharedScale(sharedScale: boolean, compareLogit = false): void {
    this.store.set({ sharedScale, compareLogit: sharedScale && compareLogit });
  }

  /** Fix the result heatmap's scale at `share` of the logit (null: back to each map's own scale). */
  setLogitScale(share: number | null): void {
    this.store.set({ logitScale: share != null && Number.isFinite(share) && share > 0 ? share : null });
  }

  scheduleCompare(delay = 250): void {
    window.clearTimeout(this.compareTimer);
    this.compareTimer = window.setTimeout(() => void this.runCompare(), delay);
  }

  async runCompare(): Promise<void> {
    window.clearTimeout(this.compareTimer);
    const s = this.store.get();
    const models = s.compareIds.map((id) => modelById(s, id)).filter((m): m is LRPModel => m !== null);
    if (!s.compareRows.length || !models.length) {
      this.store.set({ compare: null, compareModels: [] });
      return;
    }
    const snapshot = models.map(clone);
    const specs = s.compareRows;
    const body = { rows: specs.map((r) => ({ image_id: r.imageId, class_index: r.classIndex, start: r.start })), models: snapshot };
    const cells = body.rows.length * snapshot.length;
    try {
      // Many cells run as a job (progress, cancel); a newer comparison replaces a running one.
      const compare =
        this.jobs && cells > COMPARE_JOB_CELLS
          ? await this.jobs.run("compare", body, `comparison of ${cells} heatmaps`, { key: null })
          : await this.api.call(() => this.api.client.POST("/api/compare", { body }), "compare");
      // Each row's label names its start rule, so the exported grid and report say it beside the class.
      const rows = compare.rows.map((r, i) => ({ ...r, label: rowLabel(r.label, specs[i]) }));
      this.store.set({ compare: { ...compare, rows }, compareModels: snapshot });
    } catch (err) {
      this.report(err);
    }
  }
}

/** Comparisons with more cells than this run as a job with a progress bar. */
const COMPARE_JOB_CELLS = 4;

/** How many edits of one model can be undone. */
const UNDO_DEPTH = 100;

function pushHistory(history: State["history"], id: number, before: LRPModel): State["history"] {
  const past = [...(history[id]?.past ?? []).slice(-(UNDO_DEPTH - 1)), clone(before)];
  return { ...history, [id]: { past, future: [] } };
}

function download(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}
