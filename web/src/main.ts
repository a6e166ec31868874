// Entry point: one store, one API service, the seven views, and the busy/error chrome.
import "katex/dist/katex.min.css";
import "./style.css";
import { ApiService } from "./services/api";
import { Actions } from "./state/actions";
import { AnalysisActions } from "./state/analysisActions";
import { JobActions } from "./state/jobs";
import { Store } from "./state/store";
import { WorkspaceActions } from "./state/workspace";
import { mountAblationView } from "./views/ablationView";
import { mountComparisonView } from "./views/comparisonView";
import { mountRuleEditor } from "./views/ruleEditor";
import { mountSegmentRuler } from "./views/segmentRuler";
import { mountFlipView } from "./views/flipView";
import { mountJobProgress } from "./views/jobProgress";
import { mountLandscapeView } from "./views/landscapeView";
import { mountModelManager } from "./views/modelManager";
import { mountNetworkPicker } from "./views/networkPicker";
import { mountRecommendView } from "./views/recommendView";
import { mountResultView } from "./views/resultView";
import { mountWorkspaceBar } from "./views/workspaceBar";

const store = new Store();
const api = new ApiService(store);
const actions = new Actions(store, api);
const jobs = new JobActions(store, api);
actions.jobs = jobs;
const analysis = new AnalysisActions(actions, jobs);
const workspace = new WorkspaceActions(actions, analysis);

function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
}

mountModelManager(byId("model-manager"), actions);
mountResultView(byId("result-view"), actions);
mountSegmentRuler(byId("config-view"), actions);
mountRuleEditor(byId("config-panel"), actions);
mountComparisonView(byId("comparison-view"), actions);
mountFlipView(byId("flip-view"), actions, analysis);
mountAblationView(byId("ablation-view"), actions, analysis);
mountLandscapeView(byId("landscape-view"), actions, jobs);
mountRecommendView(byId("recommend-view"), actions, jobs);

const busy = document.querySelector<HTMLElement>("[data-testid=busy]")!;
const error = document.querySelector<HTMLElement>("[data-testid=error]")!;
const network = byId("network");
const picker = document.createElement("div");
const jobBars = document.createElement("div");
const workspaceBar = document.createElement("div");
network.after(picker, workspaceBar, jobBars);
mountNetworkPicker(picker, actions, jobs, workspace);
mountWorkspaceBar(workspaceBar, actions, workspace);
mountJobProgress(jobBars, jobs);
const notice = document.querySelector<HTMLElement>("[data-testid=notice]")!;
let noticeTimer: number | undefined;
store.subscribe((s, p) => {
  busy.hidden = s.busy === 0;
  document.body.dataset.busy = String(s.busy);
  if (s.error !== p.error) {
    error.hidden = !s.error;
    error.textContent = s.error ? `⚠ ${s.error}` : "";
    if (s.error) {
      const close = document.createElement("button");
      close.textContent = "×";
      close.title = "dismiss";
      close.addEventListener("click", () => actions.dismissError());
      error.append(" ", close);
    }
  }
  if (s.info !== p.info && s.info) network.textContent = `${s.info.network} · ${s.info.n_layers} layers`;
  if (s.notice !== p.notice) {
    notice.hidden = !s.notice;
    notice.textContent = s.notice ?? "";
    window.clearTimeout(noticeTimer);
    if (s.notice)
    noticeTimer = window.setTimeout(() => store.set({ notice: null }), 2500);
  }
});

// The saved working set of the network comes back once the page has its models and image; then the page is ready.
void actions
  .init()
  .then(() => workspace.restore())
  .then(() => document.body.setAttribute("data-ready", "1"));
