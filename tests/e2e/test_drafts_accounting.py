"""Issue 18, points 3 and 5 in the browser.

Point 3: a landscape point and a recommendation load as NEW draft models named after what differs
("EpsilonGammaBox · γ₁₊=0.5 (draft)"), no stored model is renamed, "Add to manager" on a design that is
stored already makes no "… 2", and one click compares the draft with the default model.

Point 5: the accounting reads in plain words; with z⁺ and the bias off a loss is never put on ε (ε = 0);
a design that keeps under 1 % of the logit says so beside the heatmap and excludes the bias in one click.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from vislrp.server.testing import ServerThread

from .conftest import fill_landscape, idle, open_designer


def _stored(page: Page, server: ServerThread) -> dict[int, str]:
    return {m["id"]: m["model"]["name"] for m in page.request.get(f"{server.url}/api/models").json()}


def test_a_landscape_point_becomes_a_new_named_draft_and_compares_in_one_click(page: Page,
                                                                                server: ServerThread) -> None:
    open_designer(page, server.url)
    before = _stored(page, server)
    active = page.get_by_test_id("active-model-name").inner_text()
    view = page.get_by_test_id("landscape-view")
    fill_landscape(page, "sparseness", ("gamma1p", 0, 0.5, 2))
    cells = view.get_by_test_id("landscape-cell")
    expect(cells).to_have_count(2)
    expect(view.get_by_test_id("landscape-run")).to_be_enabled()
    with page.expect_request(lambda r: r.url.endswith("/api/explain") and r.method == "POST") as req:
        view.locator("[data-testid=landscape-cell][data-index='1']").click()
    assert req.value.post_data_json["model"]["segments"][0]["rule"]["gamma1p"] == 0.5
    idle(page)
    title = page.get_by_test_id("active-model-name")
    expect(title).to_contain_text("γ₁₊=0.5 (draft)")
    expect(title).not_to_contain_text("gamma1p")  # no raw ids, no parameter list that contradicts the rule

    after = _stored(page, server)
    assert {i: after[i] for i in before} == before, "a stored model was renamed"
    new = [n for i, n in after.items() if i not in before]
    root = re.sub(r"\s*\([^()]*\)", "", active).split(" · ")[0].strip()
    assert len(new) == 1 and re.fullmatch(rf"{re.escape(root)} · (S1 )?γ₁₊=0\.5 \(draft\)", new[0]), (new, active)
    names = page.get_by_test_id("model-name")
    expect(names.filter(has_text="•")).to_have_count(0)  # no stored model holds unsaved edits
    assert active.strip() in [n.strip() for n in names.all_inner_texts()]  # the old active model keeps its name

    # one click: the draft and the default side by side on the shown image
    page.get_by_test_id("compare-with-default").click()
    expect(page.get_by_test_id("compare-column")).to_have_count(2)
    idle(page)
    expect(page.get_by_test_id("compare-table")).to_contain_text("(draft)")


def test_recommendations_load_as_new_drafts_and_add_no_copies(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    view = page.get_by_test_id("landscape-view")
    fill_landscape(page, "sparseness", ("gamma1p", 0.75, 1, 2))  # its best point joins the candidates
    expect(view.get_by_test_id("landscape-cell")).to_have_count(2)
    expect(view.get_by_test_id("landscape-run")).to_be_enabled()
    rec = page.get_by_test_id("recommend-view")
    for box in rec.get_by_test_id("recommend-metric").all():
        box.uncheck()
    for metric in ("sparseness", "complexity"):
        rec.locator(f"[data-testid=recommend-metric][value={metric}]").check()
    rec.get_by_test_id("recommend-top").fill("5")
    rec.get_by_test_id("recommend-run").click()
    cards = rec.get_by_test_id("recommendation")
    expect(cards).to_have_count(10, timeout=120_000)
    expect(rec.get_by_test_id("recommend-run")).to_be_enabled()

    before = _stored(page, server)
    active = page.get_by_test_id("active-model-name").inner_text().strip()
    composites = rec.locator("[data-testid=recommendation][data-source=composite]")
    names = [c.get_attribute("data-name") or "" for c in composites.all()]
    # "Add to manager" on a composite that is stored already (the seeded ones are): no "… 2"
    stored_card = next(i for i, n in enumerate(names) if n in before.values())
    composites.nth(stored_card).get_by_test_id("recommendation-add").click()
    expect(page.get_by_test_id("notice")).to_contain_text("already holds this design")
    expect(composites.nth(stored_card).get_by_test_id("recommendation-add")).to_have_text("Added")
    assert _stored(page, server) == before

    # "Load as draft" on another stored composite selects it: the active model is not renamed into it
    other = next(i for i, n in enumerate(names) if n in before.values() and n != active)
    composites.nth(other).get_by_test_id("recommendation-load").click()
    expect(page.get_by_test_id("active-model-name")).to_contain_text(names[other])
    idle(page)
    assert _stored(page, server) == before
    expect(page.get_by_test_id("model-name").filter(has_text="•")).to_have_count(0)
    assert page.get_by_test_id("model-name").filter(has_text=names[other]).count() == 1

    # "Load as draft" on a landscape point: a new "(draft)" model; every stored model keeps its name
    # (the server also keeps the first test's landscape on this image: take a point of this one)
    point = rec.locator("[data-testid=recommendation][data-source=landscape]:not([data-name$='=0.5'])").first
    point.get_by_test_id("recommendation-load").click()
    expect(page.get_by_test_id("active-model-name")).to_contain_text("(draft)")
    idle(page)
    after = _stored(page, server)
    assert {i: after[i] for i in before} == before, "a stored model was renamed"
    new = [n for i, n in after.items() if i not in before]
    assert len(new) == 1 and re.search(r" · (S1 )?γ₁₊=(0\.75|1) \(draft\)$", new[0]) and "gamma1p" not in new[0], new
    expect(page.get_by_test_id("model-name").filter(has_text="•")).to_have_count(0)
    # loading it again selects the stored draft instead of making another
    point.get_by_test_id("recommendation-load").click()
    expect(page.get_by_test_id("notice")).to_contain_text("already holds this design")
    assert len(_stored(page, server)) == len(after)
    # one click compares the draft with the model it came from
    page.get_by_test_id("compare-with-origin").click()
    expect(page.get_by_test_id("compare-column")).to_have_count(2)
    idle(page)


def _whole(info: dict[str, Any], name: str, preset: str, include_bias: bool, **params: float) -> dict[str, Any]:
    """A one-segment model over the whole network with a Table 1 preset (params override its rule)."""
    rule = {**next(p for p in info["presets"] if p["name"] == preset)["params"], **params}
    return {"name": name, "include_bias": include_bias,
            "segments": [{"start": 0, "end": info["n_layers"] - 1, "preset": preset, "rule": rule}]}


def test_accounting_reads_in_words_and_a_faint_design_offers_to_exclude_the_bias(page: Page,
                                                                                 server: ServerThread) -> None:
    info = page.request.get(f"{server.url}/api/info").json()
    for body in (_whole(info, "Zplus no bias", "z-plus", False, epsilon=0.0),
                 _whole(info, "Zplus with bias", "z-plus", True, epsilon=0.0)):
        assert page.request.post(f"{server.url}/api/models", data=body).ok
    open_designer(page, server.url)
    absorbed = page.get_by_test_id("absorbed-list")
    expect(absorbed).to_contain_text("In all, the input keeps")
    text = absorbed.inner_text()
    assert not re.search(r"\de-?\d", text), text  # no exponents in the words
    assert "negative shares" not in text and "absorbed" not in text

    # z⁺, bias off, ε = 0: whatever is lost is not ε's
    with page.expect_response(lambda r: r.url.endswith("/api/explain")) as resp:
        page.get_by_test_id("model-name").filter(has_text="Zplus no bias").click()
    acc = resp.value.json()["accounting"]
    assert all(seg["stabiliser"] == 0 for seg in acc["absorbed"]), acc["absorbed"]
    lost = sum(seg["total"] for seg in acc["absorbed"])
    assert abs(lost - sum(seg["dropped"] + seg["rule"] for seg in acc["absorbed"])) < 1e-9
    idle(page)
    expect(absorbed).not_to_contain_text("ε took")
    if lost > 1e-3:
        expect(absorbed).to_contain_text("nothing to pass to dropped")

    # z⁺ with the bias keeps almost nothing of the logit: the notice says so and excludes the bias
    with page.expect_response(lambda r: r.url.endswith("/api/explain")) as resp:
        page.get_by_test_id("model-name").filter(has_text="Zplus with bias").click()
    acc = resp.value.json()["accounting"]
    assert abs(acc["final"] / acc["start"]) < 0.01, acc["final"] / acc["start"]
    idle(page)
    notice = page.get_by_test_id("faint-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("under 1 %")
    expect(notice).to_contain_text("the bias took")
    with page.expect_request(lambda r: r.url.endswith("/api/explain") and r.method == "POST") as req:
        notice.get_by_test_id("exclude-bias").click()
    assert req.value.post_data_json["model"]["include_bias"] is False
    idle(page)
    expect(page.get_by_test_id("exclude-bias")).to_be_hidden()
