// The network picker in the top bar: one of the zoo's CNNs, its weights (pretrained, random or an
// uploaded state-dict file), loaded as a job with progress; the page then starts over on that network.
import type { components } from "../api/schema";
import { clear, h } from "../lib/dom";
import type { Actions } from "../state/actions";
import type { JobActions } from "../state/jobs";
import { initialState } from "../state/store";
import type { WorkspaceActions } from "../state/workspace";

type Networks = components["schemas"]["NetworksResponse"];

export function mountNetworkPicker(root: HTMLElement, actions: Actions, jobs: JobActions, workspace: WorkspaceActions): void {
  const { store, api } = actions;
  root.classList.add("network-picker");
  const network = h("select", { "data-testid": "network-select", title: "network" });
  const weights = h("select", { "data-testid": "weights-select", title: "weights" });
  const file = h("input", { type: "file", accept: ".pt,.pth,.bin", "data-testid": "weights-file", title: "a state-dict file for this network", hidden: true });
  const load = h("button", { "data-testid": "network-load", title: "load this network (the page starts over on it)" }, "Load");
  const badge = h("span", { class: "random-badge", "data-testid": "random-weights", hidden: true, title: "random weights: predictions and heatmaps mean nothing about the photo" }, "random weights");
  root.append(network, weights, file, load, badge);
  let nets: Networks | null = null;

  /** The weights the loaded `net` runs with, if it is the active network. */
  function activeWeights(net: string): string | null {
    const active = nets?.loaded.find((n) => n.active);
    return active && active.network === net ? active.weights : null;
  }

  /** The weights choices for the picked network; `chosen` stays picked where it is one of them. */
  function fillWeights(chosen = weights.value): void {
    clear(weights);
    weights.append(h("option", { value: "default" }, "pretrained"), h("option", { value: "none" }, "random (none)"));
    for (const u of nets?.uploads ?? []) if (u.network === network.value) weights.append(h("option", { value: `upload:${u.id}` }, `file: ${u.filename}`));
    weights.append(h("option", { value: "file" }, "upload a file…"));
    weights.value = [...weights.options].some((o) => o.value === chosen) ? chosen : "default";
    file.hidden = weights.value !== "file";
  }

  async function refresh(): Promise<void> {
    nets = await api.call(() => api.client.GET("/api/networks"));
    const active = nets.loaded.find((n) => n.active);
    clear(network);
    for (const z of nets.zoo) network.append(h("option", { value: z.name, title: z.description }, z.name));
    if (active) network.value = active.network;
    fillWeights();
    if (active) weights.value = [...weights.options].some((o) => o.value === active.weights) ? active.weights : "default";
    badge.hidden = !active?.random_weights;
  }

  // Another network starts from the weights it runs with when active, else from pretrained: a "random (none)"
  // picked for one network is not carried over to the next.
  network.addEventListener("change", () => fillWeights(activeWeights(network.value) ?? "default"));
  weights.addEventListener("change", () => {
    file.hidden = weights.value !== "file";
  });

  load.addEventListener("click", () => void switchTo());

  async function switchTo(): Promise<void> {
    let choice = weights.value;
    try {
      if (choice === "file") {
        const f = file.files?.[0];
        if (!f) {
          store.set({ error: "choose a weights file first" });
          return;
        }
        const form = new FormData();
        form.append("file", f, f.name);
        const up = await api.call(() =>
          api.client.POST("/api/networks/weights", { params: { query: { network: network.value } }, body: { file: f.name }, bodySerializer: () => form }),
        );
        choice = `upload:${up.id}`;
      }
      jobs.cancelAll("cancelled: switching the network");
      await workspace.suspend(); // the working set of the network we leave is saved first
      const loaded = await jobs.run("network-load", { network: network.value, weights: choice }, `loading ${network.value}`, { key: null });
      await restart();
      await workspace.restore(); // and the new one's comes back
      await refresh();
      store.set({ notice: loaded.random_weights ? `${loaded.network} loaded with random weights: its predictions and heatmaps are not meaningful` : `${loaded.network} loaded` });
    } catch (err) {
      actions.reportError(err);
      workspace.resume(); // still on the network we had: its working set is saved again as it changes
      // The picker goes back to what is loaded: the failed choice is not what the page runs.
      await refresh().catch(() => undefined);
    }
  }

  /** Start the page over on the now active network: its info, its saved models, the same photo (a sample by name,
   *  an upload from the server's photo store, decoded again for the new network's input). */
  async function restart(): Promise<void> {
    const before = store.get();
    const info = await api.call(() => api.client.GET("/api/info"));
    const photo = before.image?.photo_id ?? null;
    const sample = before.image && info.samples.some((x) => x.name === before.image!.source) ? before.image.source : info.default_sample;
    // Everything else belonged to the old network (layer indices, image ids, drafts): back to a fresh page.
    // The last recommendations stay in view (dimmed: made for the other network) until this one's saved set replaces them.
    store.set({ ...initialState, info, colormap: before.colormap, flipMode: before.flipMode ?? info.defaults.flip_mode, sharedScale: before.sharedScale, busy: before.busy, notice: before.notice, recommendation: before.recommendation });
    const models = await actions.refreshModels();
    store.set({ activeId: models[0]?.id ?? null });
    const photos = await actions.refreshPhotos();
    if (photo && photos.some((p) => p.id === photo)) {
      await actions.openPhoto(photo);
      return;
    }
    if (before.image && sample !== before.image.source) store.set({ notice: `${before.image.source} is no longer in the photo store: upload it again` });
    if (sample) await actions.loadSample(sample);
  }

  store.subscribe((s, p) => {
    if (s.info !== p.info && s.info) badge.hidden = s.info.weights !== "none";
  });
  void refresh().catch((err) => actions.reportError(err));
}
