// The saved workspace (issue 18, point 4): the page's working set of the active network (comparison columns and
// rows, flip rows and curves, the last landscape and recommendations) is saved on the server 500 ms after it
// changes, and restored on load and after a switch of network. What cannot come back (a deleted model or upload) is
// skipped and named in a note; nothing of a restore may break the page.
import type { ImageResponse, Workspace, WorkspaceFlip, WorkspaceImage } from "../api/types";
import { ApiFailure } from "../services/api";
import { checkLandscape, checkRecommendation, count, decodeRuns, encodeRuns, imageKey, imageName, imageRef, summary } from "../lib/workspace";
import type { Actions } from "./actions";
import type { AnalysisActions } from "./analysisActions";
import { networkKey } from "./rows";
import type { BrushSettings, CompareRowSpec, State, WorkspaceState } from "./store";

/** How long after the last change the working set is saved. */
export const SAVE_DELAY_MS = 500;

/** The parts of the state the saved working set holds: a change of any of them schedules a save. */
const SAVED: (keyof State)[] = ["compareRows", "compareIds", "sharedScale", "compareLogit", "flipRows", "flipMode", "flipBrush", "flipCurve", "landscape", "recommendation", "models"];

/** The network keys whose working set this tab restored or saved (sessionStorage: a reload keeps them, a new tab
 * starts without). Such a network's set comes back by itself; a new tab is asked first, so it never replaces the
 * set another tab (or an earlier session) saved without the user's word. */
const TAB_NETWORKS = "vislrp-workspace-networks";

function tabNetworks(): string[] {
  try {
    const list: unknown = JSON.parse(sessionStorage.getItem(TAB_NETWORKS) ?? "[]");
    return Array.isArray(list) ? list.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

function own(network: string): void {
  const list = tabNetworks();
  if (!list.includes(network)) sessionStorage.setItem(TAB_NETWORKS, JSON.stringify([...list, network]));
}

/** keepalive requests (a save as the page goes away) may carry at most 64 kB. */
const KEEPALIVE_BYTES = 60_000;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class WorkspaceActions {
  private timer: number | undefined;
  /** Saves run one after another, so the server keeps the newest. */
  private chain: Promise<void> = Promise.resolve();
  /** The last document the server holds for this network (its landscape stays while a new one runs). */
  private last: Workspace | null = null;
  /** Flip work saved for an image and class the page does not show: kept (and saved again) until it is shown. */
  private pendingFlip: { flip: WorkspaceFlip; imageId: string } | null = null;
  /** The network key saving was suspended for (a switch of network in progress). */
  private suspended: string | null = null;
  /** A saved working set a new tab found, until the user restores it or starts afresh. */
  private offered: { network: string; doc: Workspace } | null = null;

  constructor(
    readonly base: Actions,
    readonly analysis: AnalysisActions,
  ) {
    const { store } = base;
    store.subscribe((s, p) => {
      if (s.workspace.network && SAVED.some((k) => s[k] !== p[k])) this.schedule();
      // Pending flip rows come back once the page shows their image and class, after its explanation.
      if (this.pendingFlip && s.explainModel !== p.explainModel) this.applyPendingFlip();
    });
    // A change in the last half second is saved as the page goes away (a reload right after an edit).
    window.addEventListener("pagehide", () => this.flushOnExit());
  }

  get store() {
    return this.base.store;
  }

  private setWorkspace(patch: Partial<WorkspaceState>): void {
    this.store.set({ workspace: { ...this.store.get().workspace, ...patch } });
  }

  // ------------------------------------------------------------------ saving
  private schedule(): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.save(), SAVE_DELAY_MS);
    if (this.store.get().workspace.status !== "pending") this.setWorkspace({ status: "pending" });
  }

  /** Save now (after any save in flight); the state is read when the request goes. */
  save(): Promise<void> {
    window.clearTimeout(this.timer);
    this.timer = undefined;
    this.chain = this.chain.then(() => this.put());
    return this.chain;
  }

  private async put(): Promise<void> {
    const network = this.store.get().workspace.network;
    if (!network) return;
    const body = this.document(this.store.get());
    this.setWorkspace({ status: "saving" });
    try {
      const { api } = this.base;
      const out = await api.call(() => api.client.PUT("/api/workspace", { params: { query: { network } }, body }));
      this.last = out.workspace;
      // A change that came in meanwhile keeps the status pending: its own save follows.
      if (this.store.get().workspace.network === network) this.setWorkspace({ status: this.timer === undefined ? "saved" : "pending", message: null, savedAt: Date.now() });
    } catch (err) {
      this.setWorkspace({ status: "failed", message: `not saved: ${errorText(err)}` });
    }
  }

  private flushOnExit(): void {
    const network = this.store.get().workspace.network;
    if (this.timer === undefined || !network) return;
    window.clearTimeout(this.timer);
    const body = JSON.stringify(this.document(this.store.get()));
    if (body.length > KEEPALIVE_BYTES) return;
    void fetch(`${window.location.origin}/api/workspace?network=${encodeURIComponent(network)}`, {
      method: "PUT",
      keepalive: true,
      headers: { "content-type": "application/json" },
      body,
    }).catch(() => undefined);
  }

  /** The working set of the page as the server keeps it (WorkspaceOut's document, version 1). */
  document(s: State): Workspace {
    const names = new Map(s.models.map((m) => [m.id, m.model.name]));
    const doc: Workspace = {
      version: 1,
      compare: {
        columns: s.compareIds.filter((id) => names.has(id)).map((id) => ({ id, name: names.get(id)!.slice(0, 200) })),
        rows: s.compareRows.map((r) => ({
          image: imageRef({ source: r.source, photo_id: r.photoId ?? null }),
          class_index: r.classIndex,
          label: r.label,
          start: r.start,
          start_caption: r.startCaption,
        })),
        shared_scale: s.sharedScale,
        compare_logit: s.compareLogit,
      },
      flip: this.flipSection(s),
      landscape: null,
      recommendation: null,
    };
    const l = s.landscape;
    // A sweep still running (or cancelled) keeps the last finished one in the saved set.
    doc.landscape = l?.result ? { request: l.req, result: l.result, labels: l.labels, base_id: l.baseId } : (this.last?.landscape ?? null);
    const r = s.recommendation;
    // Results of another network (shown dimmed after a switch) are not this network's.
    if (r && r.network === networkKey(s)) {
      doc.recommendation = { result: r.res, rows_key: r.key.slice(r.network.length + 1), network: r.network, labels: r.labels, sweeps: r.sweeps };
    }
    return doc;
  }

  /** View F's rows and curves for the shown image and class; while they are untouched, the flip work saved for
   * another image is kept instead. */
  private flipSection(s: State): WorkspaceFlip | null {
    const untouched = s.flipRows.length === 1 && !s.flipRows[0].mask.some((v) => v) && !s.flipCurve;
    if (this.pendingFlip && (untouched || !s.image || s.classIndex == null)) return this.pendingFlip.flip;
    this.pendingFlip = null;
    if (!s.image || s.classIndex == null || untouched) return null;
    return {
      image: imageRef(s.image),
      class_index: s.classIndex,
      rows: s.flipRows.map((r) => ({ size: Math.round(Math.sqrt(r.mask.length)), mask: encodeRuns(r.mask), brush: { ...r.brush } })),
      mode: s.flipMode,
      brush_radius: s.flipBrush,
      curve: s.flipCurve,
    };
  }

  // ------------------------------------------------------------------ restoring
  /**
   * Bring back the saved working set of the active network, then save its changes from now on. Called once the
   * page has its models and image (start-up, and after a switch of network).
   */
  async restore(): Promise<void> {
    window.clearTimeout(this.timer);
    this.timer = undefined;
    this.pendingFlip = null;
    this.last = null;
    this.suspended = null;
    this.offered = null;
    this.setWorkspace({ network: null, status: "restoring", offer: null, message: null, note: null });
    const { api } = this.base;
    let network: string;
    let saved: Workspace | null;
    const notes: string[] = [];
    try {
      network = (await api.call(() => api.client.GET("/api/networks"))).active;
      const got = await api.call(() => api.client.GET("/api/workspace", { params: { query: { network } } }));
      saved = got.workspace;
      if (got.note) notes.push(`${got.note}: starting afresh.`);
    } catch (err) {
      // Without the saved set, saving would overwrite it: the page works on, unsaved, and says so.
      this.setWorkspace({ status: "failed", message: `the saved workspace could not be read (${errorText(err)}); changes are not saved` });
      return;
    }
    if (saved && !tabNetworks().includes(network)) {
      // a new tab: ask before the saved set comes back or is replaced
      this.offered = { network, doc: saved };
      this.setWorkspace({ status: "offered", offer: summary(saved), note: notes.join(" ") || null });
      return;
    }
    await this.take(network, saved, notes);
  }

  /** Put `saved` (if any) on the page and save this network's changes from now on. */
  private async take(network: string, saved: Workspace | null, notes: string[]): Promise<void> {
    if (saved) {
      try {
        await this.apply(saved, notes);
      } catch (err) {
        notes.push(`Part of the saved workspace could not be restored (${errorText(err)}).`);
      }
    }
    own(network);
    this.last = saved;
    this.setWorkspace({ network, status: saved ? "saved" : "idle", offer: null, note: notes.join(" ") || null });
  }

  /** The offered working set comes back (a new tab's "Restore"). */
  async acceptOffer(): Promise<void> {
    const offered = this.offered;
    if (!offered) return;
    this.offered = null;
    this.setWorkspace({ status: "restoring", offer: null });
    await this.take(offered.network, offered.doc, []);
  }

  /** The page's own working set replaces the offered one (a new tab's "Start afresh"). */
  async declineOffer(): Promise<void> {
    const offered = this.offered;
    if (!offered) return;
    this.offered = null;
    await this.take(offered.network, null, []);
    await this.save();
  }

  /** The working set of `doc` on the page; what cannot come back is skipped with a line in `notes`. */
  private async apply(doc: Workspace, notes: string[]): Promise<void> {
    const refs = new Map<string, WorkspaceImage>();
    for (const r of doc.compare?.rows ?? []) refs.set(imageKey(r.image), r.image);
    if (doc.flip) refs.set(imageKey(doc.flip.image), doc.flip.image);
    const images = new Map<string, ImageResponse | null>();
    for (const [key, ref] of refs) images.set(key, await this.open(ref));

    // E: the columns that are still stored, the rows whose image still opens.
    const s = this.store.get();
    const compare = doc.compare ?? { columns: [], rows: [], shared_scale: false, compare_logit: false };
    const ids = new Set(s.models.map((m) => m.id));
    const gone = compare.columns.filter((c) => !ids.has(c.id));
    if (gone.length) notes.push(`${gone.map((c) => `“${c.name}”`).join(", ")} ${gone.length === 1 ? "was" : "were"} deleted: ${count(gone.length, "comparison column")} skipped.`);
    const rows: CompareRowSpec[] = [];
    const missing = new Map<string, number>();
    for (const r of compare.rows) {
      const img = images.get(imageKey(r.image));
      if (!img) {
        missing.set(imageName(r.image), (missing.get(imageName(r.image)) ?? 0) + 1);
        continue;
      }
      rows.push({ imageId: img.image_id, source: img.source, photoId: img.photo_id ?? null, classIndex: r.class_index, label: r.label, start: r.start, startCaption: r.start_caption });
    }
    for (const [name, n] of missing) notes.push(`${name} is no longer there: ${count(n, "comparison row")} skipped.`);
    const compareIds = compare.columns.filter((c) => ids.has(c.id)).map((c) => c.id);
    const sharedScale = !!compare.shared_scale;
    this.store.set({ compareRows: rows, compareIds, sharedScale, compareLogit: sharedScale && !!compare.compare_logit });
    if (rows.length && compareIds.length) this.base.scheduleCompare(0);

    // F: on the image and class it was made for, now or once the page shows them.
    if (doc.flip) {
      const img = images.get(imageKey(doc.flip.image));
      if (!img) notes.push(`${imageName(doc.flip.image)} is no longer there: its ${count(doc.flip.rows.length, "flip row")} skipped.`);
      else {
        this.pendingFlip = { flip: doc.flip, imageId: img.image_id };
        if (!this.applyPendingFlip(notes)) {
          const label = img.topk.find((p) => p.index === doc.flip!.class_index)?.label ?? `class ${doc.flip.class_index}`;
          notes.push(`The flip rows saved for ${img.source} · ${label} are kept: show that image and class to see them.`);
        }
      }
    }

    // H and the recommendations: drawn from the saved results, no job runs again.
    if (doc.landscape) {
      const ok = checkLandscape(doc.landscape.request, doc.landscape.result);
      if (!ok) notes.push("The saved landscape could not be read: skipped.");
      else {
        const baseId = doc.landscape.base_id != null && ids.has(doc.landscape.base_id) ? doc.landscape.base_id : null;
        this.base.showLandscape({ req: ok.req, labels: doc.landscape.labels ?? [], points: ok.res.points, result: ok.res, baseId });
      }
    }
    if (doc.recommendation) {
      const res = checkRecommendation(doc.recommendation.result);
      const r = doc.recommendation;
      if (!res) notes.push("The saved recommendations could not be read: skipped.");
      else this.base.showRecommendation({ res, key: `${r.network}|${r.rows_key}`, network: r.network, labels: r.labels ?? [], sweeps: r.sweeps ?? true });
    }
  }

  /** Open a saved row's image on the server again (its id), without showing it; null when it is gone. */
  private async open(ref: WorkspaceImage): Promise<ImageResponse | null> {
    const shown = this.store.get().image;
    if (shown && imageKey(imageRef(shown)) === imageKey(ref)) return shown;
    const { api } = this.base;
    try {
      return ref.kind === "photo"
        ? await api.call(() => api.client.POST("/api/photos/{photo_id}/open", { params: { path: { photo_id: ref.id } } }))
        : await api.call(() => api.client.POST("/api/images/sample", { body: { name: ref.name } }));
    } catch (err) {
      if (err instanceof ApiFailure) return null;
      throw err;
    }
  }

  /** Put the pending flip rows on the page if it shows their image and class; true when it did. */
  private applyPendingFlip(notes: string[] = []): boolean {
    const pending = this.pendingFlip;
    const s = this.store.get();
    if (!pending || !s.image || s.image.image_id !== pending.imageId || s.classIndex !== pending.flip.class_index || !s.explainModel) return false;
    this.pendingFlip = null;
    const size = s.image.size;
    const rows: { mask: Uint8Array; brush: BrushSettings }[] = [];
    for (const r of pending.flip.rows) {
      const mask = r.size === size ? decodeRuns(r.mask, size * size) : null;
      if (mask) rows.push({ mask, brush: { shape: r.brush?.shape ?? "circle", erase: !!r.brush?.erase, fill: r.brush?.fill ?? "view" } });
    }
    const bad = pending.flip.rows.length - rows.length;
    if (bad) notes.push(`${count(bad, "flip row")} did not fit the image: skipped.`);
    const curve = pending.flip.curve;
    const fits = !!curve && curve.image_id === s.image.image_id && curve.class_index === s.classIndex;
    this.analysis.restoreFlipRows(rows, {
      flipMode: pending.flip.mode ?? s.flipMode,
      flipBrush: pending.flip.brush_radius ?? s.flipBrush,
      flipCurve: fits ? curve : null,
      flipCurveStale: null,
    });
    return true;
  }

  // ------------------------------------------------------------------ switching and clearing
  /** Before a switch of network: save what is pending for the current network, then save nothing until restore(). */
  async suspend(): Promise<void> {
    this.offered = null;
    const network = this.store.get().workspace.network;
    if (this.timer !== undefined) await this.save();
    else await this.chain;
    this.suspended = network;
    this.setWorkspace({ network: null });
  }

  /** After a switch that failed: the page still works on the network it had, so saving goes on for it. */
  resume(): void {
    if (this.suspended) this.setWorkspace({ network: this.suspended });
    this.suspended = null;
  }

  /** Forget this network's saved working set and empty the page's: no columns or rows, one empty flip row, no
   * curves, landscape or recommendations. */
  async clear(): Promise<void> {
    const network = this.store.get().workspace.network;
    if (!network) return;
    const s = this.store.get();
    this.pendingFlip = null;
    this.last = null;
    this.store.set({ compareRows: [], compareIds: [], compare: null, compareModels: [], landscape: null, recommendation: null });
    const size = s.image?.size ?? 224;
    this.analysis.restoreFlipRows([{ mask: new Uint8Array(size * size), brush: { shape: "circle", erase: false, fill: "view" } }], { flipCurve: null, flipCurveStale: null });
    window.clearTimeout(this.timer); // the emptied page is not saved: the set is deleted
    this.timer = undefined;
    await this.chain;
    try {
      const { api } = this.base;
      await api.call(() => api.client.DELETE("/api/workspace", { params: { query: { network } } }));
      this.setWorkspace({ status: "idle", offer: null, message: null, savedAt: null, note: null });
      this.store.set({ notice: "Workspace cleared" });
    } catch (err) {
      this.setWorkspace({ status: "failed", message: `not cleared: ${errorText(err)}` });
    }
  }

  dismissNote(): void {
    this.setWorkspace({ note: null });
  }
}
