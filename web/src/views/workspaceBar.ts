// The saved workspace in the top bar (issue 18, point 4): whether the working set of this network is saved, the
// note of what a restore had to skip (until dismissed), and "Clear workspace" (a second click within 4 s confirms).
import { h } from "../lib/dom";
import type { Actions } from "../state/actions";
import type { WorkspaceState } from "../state/store";
import type { WorkspaceActions } from "../state/workspace";

const CONFIRM_MS = 4000;

function statusText(w: WorkspaceState): string {
  switch (w.status) {
    case "restoring":
      return "workspace: restoring…";
    case "offered":
      return "workspace: not saving yet";
    case "pending":
    case "saving":
      return "workspace: saving…";
    case "saved":
      return w.savedAt ? `workspace saved ${new Date(w.savedAt).toLocaleTimeString()}` : "workspace saved";
    case "failed":
      return `workspace ${w.message ?? "not saved"}`;
    default:
      return w.network ? "workspace: nothing saved yet" : "";
  }
}

export function mountWorkspaceBar(root: HTMLElement, actions: Actions, workspace: WorkspaceActions): void {
  const { store } = actions;
  root.classList.add("workspace-bar");
  const status = h("span", { class: "hint workspace-status", "data-testid": "workspace-status", title: "comparison rows, flip rows, the last landscape and recommendations of this network are kept on the server and come back after a reload or a switch of network" });
  const clearButton = h("button", { "data-testid": "workspace-clear", title: "forget this network's saved working set and empty the comparison, flip rows, landscape and recommendations" }, "Clear workspace");
  // The offer and the note stay on the top bar's one line (buttons first, the text cut short with its whole in
  // the tooltip): one appearing after start-up must not push the page down under the user's pointer.
  const noteText = h("span", { class: "workspace-text" });
  const dismiss = h("button", { title: "dismiss", class: "link" }, "×");
  const note = h("div", { class: "workspace-note", "data-testid": "workspace-note", hidden: true }, dismiss, " ", noteText);
  // A new tab that finds a saved working set asks first (another tab may still be working on it).
  const offerText = h("span", { class: "workspace-text" });
  const restore = h("button", { class: "primary", "data-testid": "workspace-restore", title: "bring the saved working set of this network back" }, "Restore");
  const afresh = h("button", { "data-testid": "workspace-afresh", title: "keep this page as it is; its work replaces the saved working set" }, "Start afresh");
  const offer = h("div", { class: "workspace-note", "data-testid": "workspace-offer", hidden: true }, restore, " ", afresh, " ", offerText);
  restore.addEventListener("click", () => void workspace.acceptOffer());
  afresh.addEventListener("click", () => void workspace.declineOffer());
  root.append(status, clearButton, offer, note);

  let armed: number | undefined;
  const disarm = () => {
    window.clearTimeout(armed);
    armed = undefined;
    clearButton.textContent = "Clear workspace";
    clearButton.classList.remove("danger");
  };
  clearButton.addEventListener("click", () => {
    if (armed === undefined) {
      clearButton.textContent = "Clear? click again";
      clearButton.classList.add("danger");
      armed = window.setTimeout(disarm, CONFIRM_MS);
      return;
    }
    disarm();
    void workspace.clear();
  });
  dismiss.addEventListener("click", () => workspace.dismissNote());

  const render = (w: WorkspaceState) => {
    status.textContent = statusText(w);
    status.dataset.status = w.status;
    status.dataset.network = w.network ?? "";
    clearButton.disabled = !w.network;
    offer.hidden = !w.offer;
    offerText.textContent = w.offer ? `A saved workspace of this network holds ${w.offer}.` : "";
    offer.title = offerText.textContent;
    note.hidden = !w.note;
    noteText.textContent = w.note ? `Restored workspace: ${w.note}` : "";
    note.title = noteText.textContent;
  };
  store.subscribe((s, p) => {
    if (s.workspace !== p.workspace) render(s.workspace);
  });
  render(store.get().workspace);
}
