"""Screenshots for docs/tutorials/5-vision-transformer.md (run: .venv/bin/python scripts/tutorial_vit_screenshots.py).

Starts `vislrp serve --model digits_vit` on a free port with a temporary --data directory, drives the designer
in headless Debian chromium through the tutorial (compare CP-LRP, AttnLRP and their γ variants on a digit;
ablate an attention head; start segments at encoder blocks and switch one segment's attention rule) and
saves one PNG per step in docs/tutorials/img/ (vit-*.png), each cropped to its view. Every step waits on the
request it causes or on an attribute the page sets when done, never on time. The numbers the page shows
(prediction, scores) are printed, so the tutorial's text can be checked against them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Response, expect, sync_playwright

from vislrp.server.testing import CHROMIUM, CHROMIUM_ARGS, free_port

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "tutorials" / "img"
VISLRP = Path(sys.executable).with_name("vislrp")
SAMPLE = "digits:3"
SECOND = "digits:2"
HEADS = 19
"""``encoder.layers.encoder_layer_0.self_attention.heads``: block 0's A·v product, (heads, tokens, dim)."""
COMPARED = ("CP-LRP (", "AttnLRP (", "CP-LRP γ", "AttnLRP γ")
"""Name prefixes of the four transformer models the store holds for a ViT, in the order compared."""


def idle(page: Page) -> None:
    page.wait_for_function("document.body.dataset.busy === '0'")


def is_explain(r: Response) -> bool:
    return r.url.endswith("/api/explain") and r.request.method == "POST"


def explained(page: Page, action: Callable[[], object]) -> dict[str, Any]:
    """Do ``action`` and wait for the explain request it causes; its response."""
    with page.expect_response(is_explain) as info:
        action()
    assert info.value.ok, info.value.text()
    out: dict[str, Any] = info.value.json()
    idle(page)
    return out


def shot(page: Page, testid: str, name: str, out: Path) -> None:
    target = page.get_by_test_id(testid)
    target.scroll_into_view_if_needed()
    path = out / name
    target.screenshot(path=path)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def serve(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`vislrp serve --model digits_vit` on a free port; (the process, its URL) once /api/info answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(VISLRP), "serve", "--model", "digits_vit", "--port", str(port),
                             "--data", str(data), "--sample", SAMPLE])
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/info", timeout=5):
                return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("vislrp serve did not start") from None
            time.sleep(0.5)


def model_names(url: str) -> dict[str, str]:
    """The stored models' full names by the prefixes in COMPARED."""
    with urllib.request.urlopen(f"{url}/api/models") as r:
        names = [m["model"]["name"] for m in json.load(r)]
    return {p: next(n for n in names if n.startswith(p)) for p in COMPARED}


def model_item(page: Page, name: str, part: str) -> None:
    page.locator(f"[data-testid=model-item][data-model-name='{name}'] [data-testid={part}]").click()


def compare_models(page: Page, names: dict[str, str], out: Path) -> None:
    """View E: the four transformer models on two digits (rows), CP-LRP active."""
    explained(page, lambda: model_item(page, names["CP-LRP ("], "model-name"))
    for prefix in COMPARED:
        page.locator(f"[data-testid=model-item][data-model-name='{names[prefix]}'] "
                     "[data-testid=compare-check]").check()
    page.get_by_test_id("add-compare-row").click()
    explained(page, lambda: page.get_by_test_id("sample-select").select_option(SECOND))
    page.get_by_test_id("add-compare-row").click()
    page.wait_for_function(
        "(() => { const c = [...document.querySelectorAll('[data-testid=compare-cell]')];"
        " return c.length >= 8 && c.every((e) => e.dataset.ready === '1'); })()", timeout=300_000)
    idle(page)
    print("compare cells:", page.get_by_test_id("compare-cell").count())
    shot(page, "comparison-view", "vit-compare.png", out)
    explained(page, lambda: page.get_by_test_id("sample-select").select_option(SAMPLE))
    caption = page.get_by_test_id("image-caption").inner_text()
    bar = page.get_by_test_id("heatmap")
    print(f"image: {caption!r}; heatmap class index {bar.get_attribute('data-class-index')}")


def head_ablation(page: Page, out: Path) -> None:
    """View G on block 0's heads layer: the most relevant head selected and ablated."""
    view = page.get_by_test_id("ablation-view")
    cell = view.locator(f"[data-testid=layer-cell][data-layer-index='{HEADS}']")
    cell.scroll_into_view_if_needed()
    expect(cell).to_have_attribute("data-unit", "head")
    cell.click()
    expect(view.get_by_test_id("neuron-chart-pos").get_by_test_id("neuron-point")).to_have_count(4)
    idle(page)
    view.get_by_test_id("neuron-matrix-pos").locator("rect[data-channel='3']").click()
    expect(view.get_by_test_id("neuron-selection")).to_contain_text("1 head(s) selected")
    prediction = view.get_by_test_id("ablation-prediction")
    expect(prediction).to_have_attribute("data-ready", "1")
    expect(view.get_by_test_id("neuron-maps")).to_have_attribute("data-ready", "1")
    expect(view.get_by_test_id("ablation-curve").get_by_test_id("curve-line")).to_have_count(2)  # its job is done
    idle(page)
    print("ablation layer:", view.get_by_test_id("ablation-layer").inner_text())
    print("ablation: score", prediction.get_attribute("data-score"),
          "original", prediction.get_attribute("data-original-score"))
    print("ablation text:", prediction.inner_text().replace("\n", " | ")[:400])
    page.mouse.move(0, 0)
    shot(page, "ablation-view", "vit-head-ablation.png", out)


def blocks_and_attention_rule(page: Page, out: Path) -> None:
    """View C: segments started at blocks 1 and 2; panel D: the last one switched to AttnLRP."""
    config = page.get_by_test_id("config-view")
    blocks = config.get_by_test_id("ruler-block")
    expect(blocks).to_have_count(3)
    for k in (1, 2):
        explained(page, blocks.nth(k).click)
    segments = config.get_by_test_id("ruler-segment")
    expect(segments).to_have_count(3)
    panel = page.get_by_test_id("config-panel")
    expect(panel.get_by_test_id("attention-rule-cp")).to_be_checked()
    after = explained(page, lambda: panel.get_by_test_id("attention-rule-attnlrp").check())
    expect(panel.get_by_test_id("attention-formula")).to_have_attribute("data-rule", "attnlrp")
    expect(page.get_by_test_id("heatmap")).to_contain_text("AttnLRP")
    print("result label:", page.get_by_test_id("heatmap").inner_text().replace("\n", " | ")[:300])
    print("after the switch: maps (segment, layer, ΣR)",
          [(m["segment"], m["layer_index"], m["heatmap"] and m["heatmap"]["total"]) for m in after["intermediate"]])
    # The panel from its head down to the LayerNorm rule (the sliders below are the usual ones).
    page.evaluate("window.scrollTo(0, 0)")  # the panel's head in view (scrolled, it covers the presets)
    top, bottom = panel.bounding_box(), panel.get_by_test_id("layernorm-rule").bounding_box()
    assert top is not None and bottom is not None
    sx, sy = page.evaluate("[window.scrollX, window.scrollY]")
    path = out / "vit-attention-rule.png"
    page.screenshot(path=path, full_page=True, clip={
        "x": top["x"] + sx, "y": top["y"] + sy, "width": top["width"],
        "height": bottom["y"] + bottom["height"] + 8 - top["y"]})
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")
    config.scroll_into_view_if_needed()
    config.get_by_test_id("ruler-layer").nth(32).hover()  # block 1's first layer
    expect(config.get_by_test_id("layer-tooltip")).to_contain_text("block 1")
    path = out / "vit-ruler.png"
    config.screenshot(path=path)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")
    page.mouse.move(0, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data, tempfile.TemporaryDirectory() as profile:
        proc, url = serve(Path(data))
        try:
            names = model_names(url)
            with sync_playwright() as p:
                ctx = p.chromium.launch_persistent_context(
                    profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
                    viewport={"width": 1480, "height": 1000}, device_scale_factor=1,
                )
                ctx.set_default_timeout(120_000)
                page = ctx.new_page()
                page.on("pageerror", lambda e: print(f"page error: {e}"))
                page.goto(url)
                page.wait_for_selector("body[data-ready='1']", state="attached")
                page.wait_for_selector("[data-testid=heatmap][data-class-index]")
                idle(page)
                compare_models(page, names, args.out)
                head_ablation(page, args.out)
                blocks_and_attention_rule(page, args.out)
                ctx.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
