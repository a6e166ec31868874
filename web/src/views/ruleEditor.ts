// View D: the configuration panel of the selected segment: Table 1 preset buttons, the four steps of
// parameter sliders (with min/max, a typed value box and a "?" guide each), the live LaTeX formula,
// the input-rule and bias toggles, and warnings for unusual choices. A segment holding a transformer's
// attention or LayerNorm layers also gets their rule choices (/api/info attention_rules, layernorm_rules),
// each with its formula.
import katex from "katex";
import type { Info, LRPModel, ParamInfo, ParamName, RuleParams } from "../api/types";
import { presetLabel } from "../draw/segmentBars";
import { STEP_COLORS, segmentColor } from "../draw/theme";
import { clear, h } from "../lib/dom";
import { ruleLatex } from "../lib/formula";
import { formatInput, formatNumber } from "../lib/numbers";
import { layersOf, partOptions, partsIn, ATTENTION_KINDS, LAYERNORM_KINDS } from "../lib/layers";
import { clone, matchPreset, type PartName, ruleOf, type SegmentParts, setPart, setRule } from "../lib/segments";
import type { Actions } from "../state/actions";
import { activeModel, changed, type State } from "../state/store";

/** Choices the server would reject, caught before sending. */
function ruleError(r: RuleParams): string | null {
  if (r.alpha === 0 && r.beta === 0) return "α and β are both 0: the rule would propagate no relevance";
  if (r.theta0 === 0 && r.theta1 === 0) return "θ0 and θ1 are both 0: every activation term would vanish";
  return null;
}

function sliderStep(p: ParamInfo): number {
  return p.maximum - p.minimum <= 1 ? 0.01 : 0.05;
}

function tex(el: HTMLElement, latex: string, display = false): void {
  katex.render(latex, el, { throwOnError: false, displayMode: display });
}

/** Which history step a key press asks for: Ctrl/Cmd+Z undo, Ctrl/Cmd+Shift+Z or Ctrl/Cmd+Y redo. */
function historyKey(e: KeyboardEvent): "undo" | "redo" | null {
  if (!(e.ctrlKey || e.metaKey) || e.altKey) return null;
  const key = e.key.toLowerCase();
  if (key === "y" || (key === "z" && e.shiftKey)) return "redo";
  return key === "z" ? "undo" : null;
}

interface Controls {
  slider: HTMLInputElement;
  box: HTMLInputElement;
}

/** The rule choice of one transformer part: its radio buttons, and where the chosen rule's words and formula go. */
interface PartControls {
  radios: Map<string, HTMLInputElement>;
  description: HTMLElement;
  formula: HTMLElement;
}

const PART_TITLES: Record<PartName, { title: string; kinds: readonly string[] }> = {
  attention: { title: "Attention rule", kinds: ATTENTION_KINDS },
  layernorm: { title: "LayerNorm rule", kinds: LAYERNORM_KINDS },
};

export function mountRuleEditor(root: HTMLElement, actions: Actions): void {
  const { store } = actions;
  root.dataset.testid = "config-panel";
  root.classList.add("panel");

  const header = h("div", { class: "panel-head" });
  const body = h("div", { class: "panel-body" });
  root.append(h("h2", {}, "D · Segment rule"), header, body);

  let controls = new Map<ParamName, Controls>();
  let partControls = new Map<PartName, PartControls>();
  let presetButtons = new Map<string, HTMLButtonElement>();
  let formula: HTMLElement | null = null;
  let warnBox: HTMLElement | null = null;
  let errBox: HTMLElement | null = null;
  let zbox: HTMLInputElement | null = null;
  let bias: HTMLInputElement | null = null;
  let saveBtn: HTMLButtonElement | null = null;
  let revertBtn: HTMLButtonElement | null = null;
  let undoBtn: HTMLButtonElement | null = null;
  let redoBtn: HTMLButtonElement | null = null;
  let titleBox: HTMLElement | null = null;

  function edit(fn: (m: LRPModel, k: number) => LRPModel | null, coalesce?: string): void {
    const s = store.get();
    const m = activeModel(s);
    if (!m || !m.segments[s.selectedSegment]) return;
    const next = fn(m, s.selectedSegment);
    if (next) actions.editActive(next, 180, coalesce && `${coalesce}:${s.selectedSegment}`);
  }

  /** `coalesce` is set while a slider is dragged, so one drag is one undo step. */
  function setParam(info: Info, name: ParamName, value: number, coalesce?: string): void {
    const spec = info.params.find((p) => p.name === name)!;
    if (!Number.isFinite(value) || value < spec.minimum || value > spec.maximum) {
      errBox!.textContent = `${spec.symbol} must be a number from ${formatNumber(spec.minimum)} to ${formatNumber(spec.maximum)}`;
      errBox!.hidden = false;
      return;
    }
    edit((m, k) => {
      const seg = m.segments[k];
      const rule = { ...ruleOf(seg), [name]: value };
      const problem = ruleError(rule);
      if (problem) {
        errBox!.textContent = problem;
        errBox!.hidden = false;
        return null;
      }
      errBox!.hidden = true;
      return setRule(m, k, rule, matchPreset(rule, info.presets, seg.preset));
    }, coalesce);
  }

  function build(s: State): void {
    clear(header);
    clear(body);
    controls = new Map();
    partControls = new Map();
    presetButtons = new Map();
    const info = s.info;
    const model = activeModel(s);
    if (!info || !model) return;
    const k = Math.min(s.selectedSegment, model.segments.length - 1);

    const save = h("button", { "data-testid": "save-model", class: "primary", title: "store the edits of this model" }, "Save");
    save.addEventListener("click", () => void actions.saveActive());
    const revert = h("button", { "data-testid": "revert-model" }, "Revert");
    revert.addEventListener("click", () => actions.revertActive());
    const undo = h("button", { "data-testid": "undo", title: "undo the last edit of this model (Ctrl+Z)", "aria-label": "undo" }, "↶");
    undo.addEventListener("click", () => actions.undo());
    const redo = h("button", { "data-testid": "redo", title: "redo (Ctrl+Shift+Z)", "aria-label": "redo" }, "↷");
    redo.addEventListener("click", () => actions.redo());
    saveBtn = save;
    revertBtn = revert;
    undoBtn = undo;
    redoBtn = redo;
    titleBox = h("div", { class: "model-title", "data-testid": "active-model-name" });
    const tabs = h("div", { class: "seg-tabs" });
    model.segments.forEach((seg, j) => {
      const b = h("button", { class: j === k ? "selected" : "", "data-testid": "segment-tab", title: `layers ${seg.start}–${seg.end}` }, `S${j + 1}`);
      b.style.borderBottomColor = segmentColor(j);
      b.addEventListener("click", () => actions.selectSegment(j));
      tabs.append(b);
    });
    header.append(
      titleBox,
      h("div", { class: "row" }, save, revert, undo, redo),
      tabs,
    );

    const seg = model.segments[k];
    const presets = h("div", { class: "presets" });
    for (const p of info.presets) {
      const b = h("button", { "data-testid": `preset-button-${p.name}`, title: `${p.label} (${p.reference})` }, presetLabel(p.name, info.presets));
      b.addEventListener("click", () => edit((m, j) => setRule(m, j, p.params, p.name)));
      presetButtons.set(p.name, b);
      presets.append(b);
    }

    zbox = h("input", { type: "checkbox", "data-testid": "toggle-zbox" });
    zbox.addEventListener("change", () => {
      const on = zbox!.checked;
      edit((m) => ({ ...clone(m), input_rule: on ? { kind: "zbox", low: null, high: null } : null }));
    });
    bias = h("input", { type: "checkbox", "data-testid": "toggle-bias" });
    bias.addEventListener("change", () => {
      const on = bias!.checked;
      edit((m) => ({ ...clone(m), include_bias: on }));
    });

    const steps = h("div", { class: "steps" });
    for (const guide of info.guides) {
      const help = h("p", { class: "guide", "data-testid": `guide-${guide.step}`, hidden: true }, guide.text);
      const q = h("button", { class: "help", "data-testid": `guide-button-${guide.step}`, title: "show the guide for this step" }, "?");
      q.addEventListener("click", () => (help.hidden = !help.hidden));
      const fs = h("fieldset", { class: "step" }, h("legend", {}, guide.title, " ", q), help);
      fs.style.borderLeftColor = STEP_COLORS[guide.step];
      for (const p of info.params.filter((x) => x.step === guide.step)) {
        const name = p.name as ParamName;
        const slider = h("input", { type: "range", min: p.minimum, max: p.maximum, step: sliderStep(p), "data-testid": `slider-${name}` });
        const box = h("input", { type: "number", min: p.minimum, max: p.maximum, step: "any", "data-testid": `value-${name}`, class: "value" });
        slider.addEventListener("input", () => setParam(info, name, Number(slider.value), `slider-${name}`));
        box.addEventListener("input", () => (box.dataset.typing = "1"));
        box.addEventListener("change", () => {
          delete box.dataset.typing;
          setParam(info, name, box.value.trim() === "" ? NaN : Number(box.value));
        });
        // Ctrl+Z / Ctrl+Shift+Z / Ctrl+Y in the box: the designer's undo and redo, never the browser's own
        // input undo (which would show a value the model does not have and commit it on blur). Typing not
        // yet committed is undone first: the box goes back to the model's value.
        box.addEventListener("keydown", (e) => {
          const key = historyKey(e);
          if (!key) return;
          e.preventDefault();
          e.stopPropagation();
          if (box.dataset.typing && key === "undo") {
            delete box.dataset.typing;
            errBox!.hidden = true;
            update(store.get());
          } else if (key === "undo") actions.undo();
          else actions.redo();
        });
        // The browser's undo from elsewhere (the Edit menu, a gesture) must not change the box behind the model's back.
        box.addEventListener("beforeinput", (e) => {
          if (e.inputType === "historyUndo" || e.inputType === "historyRedo") e.preventDefault();
        });
        const sym = h("span", { class: "sym", title: p.description });
        tex(sym, p.latex);
        fs.append(h("div", { class: "param" }, sym, h("span", { class: "min" }, formatNumber(p.minimum)), slider, h("span", { class: "max" }, formatNumber(p.maximum)), box));
        controls.set(name, { slider, box });
      }
      steps.append(fs);
    }

    // Transformer parts of this segment (nothing for a CNN): a radio group per part, keyboard-operable
    // (Tab into the group, arrows to choose); a choice is an undoable edit of the draft, like a preset.
    const partBox = h("div", { class: "part-rules", "data-testid": "part-rules" });
    for (const part of partsIn(info.layers, seg)) {
      const { title, kinds } = PART_TITLES[part];
      const held = layersOf(info.layers, seg).filter((l) => kinds.includes(l.kind));
      const kindsHeld = [...new Set(held.map((l) => l.kind))].join(", ");
      const radios = new Map<string, HTMLInputElement>();
      const choices = h("div", { class: "part-choices", role: "radiogroup", "aria-label": title });
      for (const o of partOptions(info, part)) {
        const radio = h("input", { type: "radio", name: `part-${part}`, value: o.name, "data-testid": `${part}-rule-${o.name}` });
        radio.addEventListener("change", () => {
          if (!radio.checked) return;
          edit((m, j) => (m.segments[j][part] === o.name ? null : setPart(m, j, part, o.name as SegmentParts[typeof part])));
        });
        radios.set(o.name, radio);
        choices.append(h("label", { title: `${o.label} (${o.reference})` }, radio, ` ${o.label} `, h("span", { class: "hint" }, o.reference)));
      }
      const description = h("p", { class: "part-description", "data-testid": `${part}-description` });
      const partFormula = h("div", { class: "formula", "data-testid": `${part}-formula` });
      partControls.set(part, { radios, description, formula: partFormula });
      partBox.append(
        h(
          "fieldset",
          { class: "part-rule", "data-testid": `${part}-rule` },
          h("legend", {}, title, " ", h("span", { class: "hint", title: held.map((l) => `#${l.index} ${l.name}`).join("\n") }, `(${held.length} ${kindsHeld} layer${held.length === 1 ? "" : "s"} in this segment)`)),
          choices,
          description,
          partFormula,
        ),
      );
    }

    formula = h("div", { class: "formula", "data-testid": "formula" });
    warnBox = h("ul", { class: "warnings", "data-testid": "warnings" });
    errBox = h("div", { class: "param-error", "data-testid": "param-error", role: "alert", hidden: true });
    body.append(
      h("div", { class: "seg-title" }, `Segment ${k + 1}: layers ${seg.start}–${seg.end}`),
      h("h3", {}, "Preset rules (Table 1)"),
      presets,
      h("div", { class: "toggles" }, h("label", {}, zbox, " ZBox input rule"), h("label", {}, bias, " include bias")),
      ...(partControls.size ? [partBox] : []),
      steps,
      errBox,
      h("h3", {}, "Formula of this segment"),
      formula,
      warnBox,
    );
    update(s);
  }

  /** Refresh values without rebuilding, so a slider being dragged keeps its grip. */
  function update(s: State): void {
    const model = activeModel(s);
    if (!model || !formula) return;
    const k = Math.min(s.selectedSegment, model.segments.length - 1);
    const seg = model.segments[k];
    const dirty = s.activeId != null && !!s.drafts[s.activeId];
    saveBtn!.disabled = !dirty;
    revertBtn!.disabled = !dirty;
    const hist = s.activeId != null ? s.history[s.activeId] : undefined;
    undoBtn!.disabled = !hist?.past.length;
    redoBtn!.disabled = !hist?.future.length;
    undoBtn!.title = `undo the last edit of this model (Ctrl+Z)${hist?.past.length ? ` · ${hist.past.length} step(s)` : ""}`;
    titleBox!.textContent = model.name + (dirty ? " • unsaved" : "");
    for (const [name, c] of controls) {
      const v = ruleOf(seg)[name];
      if (document.activeElement !== c.slider) c.slider.value = String(v);
      // Significant digits, not decimals: ε = 1e-6 shows "1e-6", never "0.000001" cut to "0.000".
      // A box is left alone only while the user types in it (an undo from the box shows the undone value).
      if (!(document.activeElement === c.box && c.box.dataset.typing)) c.box.value = formatInput(v);
    }
    for (const [name, b] of presetButtons) b.classList.toggle("selected", seg.preset === name);
    const latex = ruleLatex(ruleOf(seg));
    if (formula.dataset.latex !== latex) {
      tex(formula, latex, true);
      formula.dataset.latex = latex;
    }
    for (const [part, c] of partControls) {
      const chosen = seg[part];
      for (const [name, radio] of c.radios) radio.checked = name === chosen;
      const option = partOptions(s.info!, part).find((o) => o.name === chosen);
      c.description.textContent = option ? `${option.label} (${option.reference}): ${option.description}` : chosen;
      const partLatex = option?.latex ?? "";
      if (c.formula.dataset.latex !== partLatex) {
        tex(c.formula, partLatex, true);
        c.formula.dataset.latex = partLatex;
      }
      c.formula.dataset.rule = chosen;
    }
    zbox!.checked = !!model.input_rule;
    bias!.checked = model.include_bias;
    showWarnings(ruleOf(seg));
  }

  // The warnings of the selected rule come from the server (POST /api/rules/warnings, the one place
  // they are written), asked for shortly after the sliders stop and cached per rule.
  const warningCache = new Map<string, string[]>();
  let warningTimer: number | undefined;
  function showWarnings(rule: RuleParams): void {
    const key = JSON.stringify(rule);
    const render = (list: string[]) => {
      if (!warnBox) return;
      clear(warnBox);
      for (const w of list) warnBox.append(h("li", {}, `⚠ ${w}`));
      warnBox.dataset.rule = key;
    };
    window.clearTimeout(warningTimer);
    const known = warningCache.get(key);
    if (known) return render(known);
    warningTimer = window.setTimeout(async () => {
      let data: { warnings: string[] } | undefined;
      try {
        ({ data } = await actions.api.client.POST("/api/rules/warnings", { body: rule }));
      } catch {
        return; // advisory only: an unreachable server leaves the last list (other requests report it)
      }
      if (!data) return; // a refused rule gets its message from the explain request
      warningCache.set(key, data.warnings);
      const current = activeModel(store.get());
      const seg = current?.segments[Math.min(store.get().selectedSegment, current.segments.length - 1)];
      if (seg && JSON.stringify(ruleOf(seg)) === key) render(data.warnings);
    }, 150);
  }

  let builtFor = "";
  store.subscribe((s, p) => {
    if (!changed(s, p, "info", "activeId", "selectedSegment", "drafts", "models", "history")) return;
    const model = activeModel(s);
    // Rebuild when the structure changes (model, segment, segment bounds); else update in place.
    const key = `${s.activeId}|${s.selectedSegment}|${model?.segments.map((x) => `${x.start}-${x.end}`).join(",")}`;
    if (key !== builtFor || changed(s, p, "info")) {
      builtFor = key;
      build(s);
    } else update(s);
  });

  // Ctrl+Z / Ctrl+Shift+Z (and Ctrl+Y) undo and redo edits of the active model, except in a text box,
  // which keeps its own undo.
  // (The parameter value boxes handle these keys themselves, above.)
  document.addEventListener("keydown", (e) => {
    const key = historyKey(e);
    if (!key || e.defaultPrevented) return;
    const t = e.target as HTMLElement | null;
    if (t && (t.isContentEditable || t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && !["range", "checkbox", "radio", "button"].includes((t as HTMLInputElement).type)))) return;
    e.preventDefault();
    if (key === "redo") actions.redo();
    else actions.undo();
  });
}
