// The one app store: plain data only (no DOM), per browser tab. Views subscribe and re-render the
// slices they show; actions (state/actions.ts) are the only code that calls set().
import type {
  AblateResponse,
  AblationCurveResponse,
  CompareResponse,
  CurveResponse,
  FlipMode,
  FlipResponse,
  NeuronMapsResponse,
  NeuronsResponse,
  ExplainResponse,
  ImageResponse,
  Info,
  PhotoOut,
  LRPModel,
  LandscapeRequest,
  LandscapeResponse,
  RecommendResponse,
  StoredModel,
} from "../api/types";
import type { components } from "../api/schema";
import type { BrushShape, RegionFill } from "../lib/brush";
import type { StartChoice } from "../lib/start";

/** A comparison row: an image, a class, and the start rule its heatmaps explain (rows may differ only in it). */
export interface CompareRowSpec {
  imageId: string;
  source: string;
  classIndex: number;
  label: string;
  /** The start rule as the API takes it ("name" or "name:class"). */
  start: string;
  /** The start rule for the row's header: "name", or "name vs “label”". */
  startCaption: string;
  /** The image's id in the photo store when it is an upload (the saved workspace opens it again by it). */
  photoId?: string | null;
}

/** A flip row's brush: its shape, whether it erases, and the fill of the regions it paints. */
export interface BrushSettings {
  shape: BrushShape;
  erase: boolean;
  fill: RegionFill;
}

/**
 * One pixel-flipping row (V5): its mask (one byte per input pixel: 0 kept, k flipped with the fill of
 * region label k, see lib/brush.ts), undo stack, brush and last prediction.
 */
export interface FlipRow {
  id: number;
  mask: Uint8Array;
  undo: Uint8Array[];
  brush: BrushSettings;
  result: FlipResponse | null;
}

/** View H's sweep: its request, the points so far (streamed), the finished result once the job is done. */
export interface LandscapeShown {
  req: LandscapeRequest;
  labels: string[];
  points: components["schemas"]["LandscapePoint"][];
  /** null while the job runs (or when it was cancelled). */
  result: LandscapeResponse | null;
  /** The stored model it was run on (a loaded point is named after it). */
  baseId: number | null;
}

/** The recommendations shown: the job's result and what it was run on. */
export interface RecommendationShown {
  res: RecommendResponse;
  /** The network and rows it was run on (network key, then rows key), to mark it stale when they change. */
  key: string;
  /** The network and weights of the run: on another network its designs can neither be added nor loaded. */
  network: string;
  labels: string[];
  sweeps: boolean;
}

/** The saved working set of this network (issue 18, point 4): where saving stands and what a restore skipped. */
export interface WorkspaceState {
  /** The network key the page saves to; null until the workspace is restored (nothing is saved before). */
  network: string | null;
  /** "pending": a change waits for its save (SAVE_DELAY_MS); "offered": a new tab found a saved working set and
   * asks before it restores or replaces it (nothing is saved meanwhile). */
  status: "idle" | "restoring" | "offered" | "pending" | "saving" | "saved" | "failed";
  /** What the offered working set holds, in words; null when nothing is offered. */
  offer: string | null;
  /** Why the last save failed, or when it succeeded (ms since the epoch). */
  message: string | null;
  savedAt: number | null;
  /** What a restore could not bring back (a deleted model or upload), shown until dismissed. */
  note: string | null;
}

/** Undo and redo stacks of one model's edits: whole models, newest last. */
export interface DraftHistory {
  past: LRPModel[];
  future: LRPModel[];
}

export interface State {
  info: Info | null;
  models: StoredModel[];
  activeId: number | null;
  /** Unsaved edits, per stored model id. */
  drafts: Record<number, LRPModel>;
  /** Undo/redo of the drafts, per stored model id. */
  history: Record<number, DraftHistory>;
  /** Per new draft (a loaded landscape point or recommendation): the stored model it came from. */
  origins: Record<number, number>;
  selectedSegment: number;
  compareIds: number[];
  colormap: string;
  image: ImageResponse | null;
  /** The uploaded photos kept by the server (newest first). */
  photos: PhotoOut[];
  classIndex: number | null;
  /** The result view's start rule (kind "" until /api/info names the default). */
  start: StartChoice;
  explain: ExplainResponse | null;
  /** The model the current explanation was computed with. */
  explainModel: LRPModel | null;
  compareRows: CompareRowSpec[];
  compare: CompareResponse | null;
  compareModels: LRPModel[];
  sharedScale: boolean;
  /** Comparison: divide each cell by its row's logit before the shared scale. */
  compareLogit: boolean;
  /**
   * Result heatmap on a fixed scale in shares of the target's logit (R_i / logit saturates at this
   * value), so presets and classes compare on one scale; null: each heatmap's own percentile scale.
   */
  logitScale: number | null;
  flipRows: FlipRow[];
  /** null until /api/info names the server's default. */
  flipMode: FlipMode | null;
  flipBrush: number;
  flipCurve: CurveResponse | null;
  /** Why the shown flip curves no longer match the controls (a later run was cancelled or failed); null when current. */
  flipCurveStale: string | null;
  ablationLayer: number | null;
  neurons: NeuronsResponse | null;
  neuronSelection: number[];
  neuronMaps: NeuronMapsResponse | null;
  ablation: AblateResponse | null;
  ablationCurve: AblationCurveResponse | null;
  landscape: LandscapeShown | null;
  recommendation: RecommendationShown | null;
  workspace: WorkspaceState;
  busy: number;
  error: string | null;
  notice: string | null;
}

export const initialState: State = {
  info: null,
  models: [],
  activeId: null,
  drafts: {},
  history: {},
  origins: {},
  selectedSegment: 0,
  compareIds: [],
  colormap: "red-blue",
  image: null,
  photos: [],
  classIndex: null,
  start: { kind: "", other: null },
  explain: null,
  explainModel: null,
  compareRows: [],
  compare: null,
  compareModels: [],
  sharedScale: false,
  compareLogit: false,
  logitScale: null,
  flipRows: [],
  flipMode: null,
  flipBrush: 8,
  flipCurve: null,
  flipCurveStale: null,
  ablationLayer: null,
  neurons: null,
  neuronSelection: [],
  neuronMaps: null,
  ablation: null,
  ablationCurve: null,
  landscape: null,
  recommendation: null,
  workspace: { network: null, status: "idle", offer: null, message: null, savedAt: null, note: null },
  busy: 0,
  error: null,
  notice: null,
};

export type Listener = (state: State, previous: State) => void;

export class Store {
  private state: State;
  private listeners = new Set<Listener>();

  constructor(state: State = initialState) {
    this.state = state;
  }

  get(): State {
    return this.state;
  }

  set(patch: Partial<State>): void {
    const previous = this.state;
    this.state = { ...previous, ...patch };
    for (const fn of this.listeners) fn(this.state, previous);
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

/** The model being edited in the active slot: its unsaved draft, or the stored version. */
export function activeModel(state: State): LRPModel | null {
  if (state.activeId == null) return null;
  const draft = state.drafts[state.activeId];
  if (draft) return draft;
  return state.models.find((m) => m.id === state.activeId)?.model ?? null;
}

export function modelById(state: State, id: number): LRPModel | null {
  return state.drafts[id] ?? state.models.find((m) => m.id === id)?.model ?? null;
}

/** True when any of the listed keys changed between two states (by reference). */
export function changed(state: State, previous: State, ...keys: (keyof State)[]): boolean {
  return keys.some((k) => state[k] !== previous[k]);
}
