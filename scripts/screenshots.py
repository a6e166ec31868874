"""Screenshots of the designer's views for docs/ (run: .venv/bin/python scripts/screenshots.py).

Starts the app in-process on a fresh data directory, walks through the paper's use cases in headless
chromium (study presets, build a four-segment model, compare models) and saves one PNG per view.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from vislrp.server import Settings
from vislrp.server.testing import CHROMIUM, CHROMIUM_ARGS, ServerThread

DOCS = Path(__file__).resolve().parents[1] / "docs"

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
            build_four_segment_model(page)
            compare(page)
            flip_study(page)
            ablation_study(page)
            page.mouse.move(0, 0)
            for filename, testid in SHOTS.items():
                path = args.out / filename
                if testid is None:
                    page.screenshot(path=path, full_page=True)
                else:
                    page.get_by_test_id(testid).screenshot(path=path)
                print(f"wrote {path}")
            ctx.close()


if __name__ == "__main__":
    main()
