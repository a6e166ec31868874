"""Screenshots of the designer's views for docs/ and the tutorials (run: .venv/bin/python scripts/screenshots.py).

Starts the app in-process on a fresh data directory, walks through the paper's use cases in headless
chromium (study presets, build a four-segment model, compare models, flip pixels, ablate neurons and
refine the heatmap to them) and saves one PNG per view in docs/ and one per tutorial step in
docs/tutorials/img/.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from vislrp.server import Settings
from vislrp.server.testing import CHROMIUM, CHROMIUM_ARGS, ServerThread

DOCS = Path(__file__).resolve().parents[1] / "docs"
TUTORIALS = DOCS / "tutorials" / "img"

SHOTS = {
    "designer-overview.png": None,
    "designer-models.png": "model-manager",
    "designer-result.png": "result-view",
    "designer-config.png": "config-view",
    "designer-panel.png": "config-panel",
    "designer-comparison.png": "comparison-view",
    "flip.png": "flip-view",
    "ablation.png": "ablation-view",
}


def idle(page: Page) -> None:
    page.wait_for_timeout(150)
    page.wait_for_function("document.body.dataset.busy === '0'")


class Steps:
    """Saves the tutorial screenshots (docs/tutorials/img/<name>.png) as the walk goes."""

    def __init__(self, page: Page, out: Path) -> None:
        self.page = page
        self.out = out
        out.mkdir(parents=True, exist_ok=True)

    def shot(self, name: str, testid: str | None = None) -> None:
        path = self.out / f"{name}.png"
        if testid is None:
            self.page.screenshot(path=path)
        else:
            target = self.page.get_by_test_id(testid)
            target.scroll_into_view_if_needed()
            target.screenshot(path=path)
        print(f"wrote {path}")


def study_rules(page: Page, steps: Steps) -> None:
    """Case 1: make a seeded single-rule model active and read its rule, formula and heatmap."""
    for name, shot in (("LRP-ε", "case1-epsilon"), ("LRP-α2β1", "case1-alpha2-beta1")):
        page.locator(f"[data-testid=model-item][data-model-name='{name}'] [data-testid=model-name]").click()
        idle(page)
        steps.shot(f"{shot}-panel", "config-panel")
        steps.shot(f"{shot}-result", "result-view")
    steps.shot("case1-models", "model-manager")
    page.get_by_test_id("model-item").first.get_by_test_id("model-name").click()
    idle(page)


def segment_links(page: Page, steps: Steps) -> None:
    """Case 2: hover a segment's map; lines show where its relevance goes in the next map."""
    canvases = page.get_by_test_id("segment-map-hover")
    if not canvases.count():
        print("no segment map with a spatial map below it: no links screenshot")
        return
    canvas = canvases.first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    canvas.hover(position={"x": box["width"] * 0.55, "y": box["height"] * 0.4})
    page.wait_for_selector("[data-testid=segment-links][data-ready='1']")
    idle(page)
    steps.shot("case2-links", "intermediate-heatmaps")
    page.mouse.move(0, 0)


def refine_to_neurons(page: Page, steps: Steps) -> None:
    """Case 4, further: a draft whose heatmap keeps only the selected neurons' relevance at that layer."""
    view = page.get_by_test_id("ablation-view")
    view.get_by_test_id("ablation-refine-mode").select_option("keep")
    view.get_by_test_id("ablation-refine").click()
    page.wait_for_timeout(300)
    idle(page)
    steps.shot("case4-refined-result", "result-view")
    view.get_by_test_id("ablation-refine").scroll_into_view_if_needed()
    steps.shot("case4-refine-status", "ablation-view")


def build_four_segment_model(page: Page) -> None:
    """Case 2 of the paper: a custom rule inserted as the second of four segments."""
    page.get_by_test_id("new-model-name").fill("Config-5 (4 segments)")
    page.get_by_test_id("create-model").click()
    idle(page)
    # Split until there are four segments (the default model's count may change).
    for k in range(4):
        if page.get_by_test_id("segment-tab").count() >= 4:
            break
        page.get_by_test_id("segment-tab").nth(0 if k == 0 else 1).click()
        page.get_by_test_id("add-segment").click()
        idle(page)
    page.get_by_test_id("segment-tab").nth(1).click()
    page.get_by_test_id("preset-button-alpha2-beta1").click()
    for name, value in (("alpha", "1.5"), ("beta", "0.5")):
        page.get_by_test_id(f"value-{name}").fill(value)
        page.get_by_test_id(f"value-{name}").press("Enter")
    page.get_by_test_id("segment-tab").nth(3).click()
    page.get_by_test_id("preset-button-lrp-0").click()
    idle(page)
    page.get_by_test_id("save-model").click()
    idle(page)
    page.get_by_test_id("segment-tab").nth(1).click()
    idle(page)


def compare(page: Page) -> None:
    """Case 1 and 2: tick models, add rows of (image, class)."""
    first = page.get_by_test_id("model-item").first.get_attribute("data-model-name") or ""  # the default composite
    names = [first, "Config-5 (4 segments)", "LRP-ε", "LRP-α1β0", "LRP-α2β1"]
    for name in names:
        page.locator(
            f"[data-testid=model-item][data-model-name='{name}'] [data-testid=compare-check]"
        ).check()
    page.get_by_test_id("prediction-bar").nth(0).click()
    idle(page)
    page.get_by_test_id("add-compare-row").click()
    page.get_by_test_id("sample-select").select_option("coffee")
    idle(page)
    page.get_by_test_id("add-compare-row").click()
    idle(page)
    page.wait_for_selector("[data-testid=compare-cell][data-ready='1']")
    page.get_by_test_id("sample-select").select_option("chelsea")
    idle(page)
    page.get_by_test_id("scale-select").select_option("shared")
    idle(page)


def landscape_and_recommendations(page: Page, out: Path) -> None:
    """View H on the comparison rows (a 6 x 3 grid of the draft's first segment), then the recommendations."""
    view = page.get_by_test_id("landscape-view")
    view.get_by_test_id("landscape-segment").select_option("1")
    for k, (param, start, stop, steps) in enumerate((("gamma1p", 0, 1, 6), ("epsilon", 0, 0.5, 3)), start=1):
        view.get_by_test_id(f"landscape-param-{k}").select_option(param)
        view.get_by_test_id(f"landscape-start-{k}").fill(str(start))
        view.get_by_test_id(f"landscape-stop-{k}").fill(str(stop))
        view.get_by_test_id(f"landscape-steps-{k}").fill(str(steps))
    view.get_by_test_id("landscape-metric").select_option("sparseness")
    view.get_by_test_id("landscape-run").click()
    page.wait_for_function("document.querySelectorAll('[data-testid=landscape-cell]').length === 18",
                           timeout=600_000)
    page.wait_for_selector("[data-testid=landscape-run]:not([disabled])", timeout=600_000)
    view.screenshot(path=out / "landscape.png")
    print(f"wrote {out / 'landscape.png'}")
    rec = page.get_by_test_id("recommend-view")
    rec.locator("[data-testid=recommend-metric][value=srg]").uncheck()
    rec.locator("[data-testid=recommend-metric][value=complexity]").check()
    rec.get_by_test_id("recommend-run").click()
    page.wait_for_selector("[data-testid=recommendation]", timeout=600_000)
    idle(page)
    rec.screenshot(path=out / "recommendations.png")
    print(f"wrote {out / 'recommendations.png'}")


def flip_study(page: Page) -> None:
    """Case 3: brush on the heatmap in one row, flip the top 10 % in another, run the curves."""
    view = page.get_by_test_id("flip-view")
    heat = view.get_by_test_id("flip-heatmap").first
    heat.scroll_into_view_if_needed()
    box = heat.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 70, box["y"] + 90)
    page.mouse.down()
    for i in range(12):
        page.mouse.move(box["x"] + 70 + 8 * i, box["y"] + 90 + 5 * i)
    page.mouse.up()
    idle(page)
    view.get_by_test_id("add-flip-row").click()
    view.get_by_test_id("flip-most").nth(1).click()
    idle(page)
    view.get_by_test_id("run-curve").click()
    page.wait_for_selector("[data-testid=flip-curve][data-ready='1']", timeout=120_000)
    idle(page)


def ablation_study(page: Page) -> None:
    """Case 4: pick a conv layer, box-select the most relevant neurons, ablate them."""
    view = page.get_by_test_id("ablation-view")
    view.get_by_test_id("layer-ruler").scroll_into_view_if_needed()
    view.locator("[data-testid=layer-cell][data-layer-index='4']").click()
    idle(page)
    svg = view.get_by_test_id("neuron-chart-pos").locator("svg")
    box = svg.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 47, box["y"] + 17)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 9, box["y"] + box["height"] * 0.5, steps=6)
    page.mouse.up()
    page.wait_for_selector("[data-testid=ablation-prediction][data-ready='1']")
    page.wait_for_selector("[data-testid=neuron-maps][data-ready='1']")
    idle(page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DOCS)
    parser.add_argument("--tutorials", type=Path, default=TUTORIALS, help="where the tutorial steps go")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data, tempfile.TemporaryDirectory() as profile:
        with ServerThread(Settings(data_dir=Path(data))) as srv, sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                args=CHROMIUM_ARGS,
                headless=True,
                viewport={"width": 1480, "height": 1000},
                device_scale_factor=1,
            )
            page = ctx.new_page()
            page.goto(srv.url)
            page.wait_for_selector("[data-testid=heatmap][data-class-index]")
            idle(page)
            steps = Steps(page, args.tutorials)
            study_rules(page, steps)
            build_four_segment_model(page)
            steps.shot("case2-ruler", "config-view")
            steps.shot("case2-panel", "config-panel")
            segment_links(page, steps)
            compare(page)
            steps.shot("case1-2-comparison", "comparison-view")
            landscape_and_recommendations(page, args.out)
            flip_study(page)
            steps.shot("case3-flip", "flip-view")
            ablation_study(page)
            steps.shot("case4-ablation", "ablation-view")
            page.mouse.move(0, 0)
            for filename, testid in SHOTS.items():
                path = args.out / filename
                if testid is None:
                    page.screenshot(path=path, full_page=True)
                else:
                    page.get_by_test_id(testid).screenshot(path=path)
                print(f"wrote {path}")
            refine_to_neurons(page, steps)
            ctx.close()


if __name__ == "__main__":
    main()
