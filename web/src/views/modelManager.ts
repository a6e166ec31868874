// View A: the model manager (create, rename, duplicate, export, delete, make active, tick to compare),
// with import/export of JSON files and the colour-spectrum chooser.
import * as d3 from "d3";
import type { Actions } from "../state/actions";
import { changed, modelById, type State } from "../state/store";
import { clear, h } from "../lib/dom";
import { drawSegmentBars } from "../draw/segmentBars";

export function mountModelManager(root: HTMLElement, actions: Actions): void {
  const { store } = actions;
  root.dataset.testid = "model-manager";
  root.classList.add("panel");
  const nameInput = h("input", { type: "text", placeholder: "new model name", "data-testid": "new-model-name", maxlength: 200 });
  const createBtn = h("button", { "data-testid": "create-model", title: "create a model (a copy of the active one) with this name" }, "Create");
  const form = h("form", { class: "create" }, nameInput, createBtn);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const name = nameInput.value.trim();
    if (!name) {
      store.set({ error: "Give the new model a name first." });
      return;
    }
    void actions.createModel(name).then(() => (nameInput.value = ""));
  });
  const list = h("ul", { class: "model-list", "data-testid": "model-list" });
  const importInput = h("input", { type: "file", accept: ".json,application/json", "data-testid": "import-models", hidden: true });
  importInput.addEventListener("change", () => {
    const f = importInput.files?.[0];
    if (f) void actions.importFile(f);
    importInput.value = "";
  });
  const importBtn = h("button", { title: "import LRP models from a JSON file" }, "Import…");
  importBtn.addEventListener("click", () => importInput.click());
  const exportBtn = h("button", { title: "download all models as one JSON file", "data-testid": "export-all" }, "Export all");
  exportBtn.addEventListener("click", () => actions.exportAll());

  const cmapSelect = h("select", { "data-testid": "colormap-select", title: "colour spectrum of all heatmaps" });
  cmapSelect.addEventListener("change", () => actions.setColormap(cmapSelect.value));
  const cmapPreview = h("canvas", { class: "cmap-preview", width: 256, height: 1 });

  // One click from a draft to a side-by-side comparison (issue 18, point 3).
  const cmpDefault = h("button", { "data-testid": "compare-with-default", title: "compare the active model with the default model on the shown image" }, "Compare with default");
  cmpDefault.addEventListener("click", () => void actions.compareActiveWith("default"));
  const cmpOrigin = h("button", { "data-testid": "compare-with-origin", hidden: true }, "Compare with its origin");
  cmpOrigin.addEventListener("click", () => void actions.compareActiveWith("origin"));
  root.append(
    h("h2", {}, "A · LRP models"),
    form,
    list,
    h("div", { class: "row" }, cmpDefault, cmpOrigin),
    h("div", { class: "row" }, importBtn, exportBtn, importInput),
    h("h3", {}, "Colour spectrum"),
    cmapSelect,
    cmapPreview,
  );

  let renaming: number | null = null;

  function renderList(s: State): void {
    clear(list);
    const origin = s.activeId != null ? s.models.find((m) => m.id === s.origins[s.activeId!]) : undefined;
    cmpOrigin.hidden = !origin || origin.id === s.activeId;
    cmpOrigin.title = origin ? `compare the active model with “${origin.model.name}”, the model it came from` : "";
    if (!s.info) return;
    for (const stored of s.models) {
      const model = modelById(s, stored.id)!;
      const active = stored.id === s.activeId;
      const dirty = !!s.drafts[stored.id];
      const check = h("input", { type: "checkbox", "data-testid": "compare-check", title: "compare this model", checked: s.compareIds.includes(stored.id) });
      check.addEventListener("change", () => actions.toggleCompare(stored.id, check.checked));
      let title: HTMLElement;
      if (renaming === stored.id) {
        const input = h("input", { type: "text", value: stored.model.name, "data-testid": "rename-input", class: "rename" });
        const finish = (save: boolean) => {
          const value = input.value.trim();
          renaming = null;
          if (save && value && value !== stored.model.name) void actions.renameModel(stored.id, value);
          else renderList(store.get());
        };
        input.addEventListener("keydown", (e) => {
          if (e.key === "Enter") finish(true);
          if (e.key === "Escape") finish(false);
        });
        input.addEventListener("blur", () => finish(true));
        title = input;
        queueMicrotask(() => input.focus());
      } else {
        title = h("button", { class: "model-name", "data-testid": "model-name", title: `${model.name}: click to make active, double-click to rename` }, model.name + (dirty ? " •" : ""));
        title.addEventListener("click", () => actions.setActive(stored.id));
        title.addEventListener("dblclick", () => {
          renaming = stored.id;
          renderList(store.get());
        });
      }
      const tool = (label: string, tip: string, testid: string, fn: () => void) => {
        const b = h("button", { class: "icon", title: tip, "data-testid": testid }, label);
        b.addEventListener("click", fn);
        return b;
      };
      const tools = h(
        "span",
        { class: "tools" },
        tool("✎", "rename", "rename-model", () => {
          renaming = stored.id;
          renderList(store.get());
        }),
        tool("❐", "duplicate", "duplicate-model", () => void actions.duplicateModel(stored.id)),
        tool("⤓", "export as JSON", "export-model", () => actions.exportModel(stored.id)),
        tool("✕", "delete", "delete-model", () => {
          if (window.confirm(`Delete the LRP model “${stored.model.name}”?`)) void actions.deleteModel(stored.id);
        }),
      );
      const svg = d3.create("svg");
      drawSegmentBars(svg, { model, nLayers: s.info.n_layers, presets: s.info.presets }, { width: 236, barHeight: 14 });
      const li = h(
        "li",
        { class: `model${active ? " active" : ""}`, "data-testid": "model-item", "data-model-id": stored.id, "data-model-name": stored.model.name },
        h("div", { class: "model-head" }, check, title, tools),
        svg.node()!,
      );
      list.append(li);
    }
  }

  function renderColormaps(s: State): void {
    if (!s.info) return;
    if (!cmapSelect.options.length) {
      for (const c of s.info.colormaps) cmapSelect.append(h("option", { value: c.name, title: c.description }, c.name));
    }
    cmapSelect.value = s.colormap;
    const lut = s.info.colormaps.find((c) => c.name === s.colormap)?.lut;
    const ctx = cmapPreview.getContext("2d");
    if (!lut || !ctx) return;
    const img = ctx.createImageData(256, 1);
    lut.forEach((c, i) => img.data.set([c[0], c[1], c[2], 255], 4 * i));
    ctx.putImageData(img, 0, 0);
  }

  store.subscribe((s, p) => {
    if (changed(s, p, "models", "activeId", "drafts", "compareIds", "info", "origins")) renderList(s);
    if (changed(s, p, "colormap", "info")) renderColormaps(s);
  });
}
