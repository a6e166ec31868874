"""End-to-end: undo/redo, the keyboard ruler, readability fixes and exports of the designer."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from vislrp.server.testing import ServerThread

from .conftest import idle, open_designer


def card_range(page: Page, k: int) -> tuple[int, int]:
    """The (start, end) layer range printed on segment k's parameter card."""
    text = page.locator(f"[data-testid=param-card][data-segment='{k}'] .card-sub").inner_text()
    start, end = text.split()[-1].split("–")
    return int(start), int(end)


def test_undo_redo_restores_formula_and_heatmap(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    formula = page.get_by_test_id("formula")
    heatmap = page.get_by_test_id("heatmap")
    latex0 = formula.get_attribute("data-latex") or ""
    total0 = heatmap.get_attribute("data-total") or ""
    expect(page.get_by_test_id("undo")).to_be_disabled()
    expect(page.get_by_test_id("redo")).to_be_disabled()

    page.get_by_test_id("preset-button-alpha2-beta1").click()
    expect(formula).not_to_have_attribute("data-latex", latex0)
    latex1 = formula.get_attribute("data-latex") or ""
    expect(heatmap).not_to_have_attribute("data-total", total0)
    idle(page)
    total1 = heatmap.get_attribute("data-total") or ""

    # Ctrl+Z on the page: back to the saved model (no draft left), and its heatmap.
    page.locator("body").press("Control+z")
    expect(formula).to_have_attribute("data-latex", latex0)
    expect(page.get_by_test_id("save-model")).to_be_disabled()
    expect(heatmap).to_have_attribute("data-total", total0)
    expect(page.get_by_test_id("redo")).to_be_enabled()

    # The redo button brings the edit back; Ctrl+Shift+Z after another undo does the same.
    page.get_by_test_id("redo").click()
    expect(formula).to_have_attribute("data-latex", latex1)
    expect(heatmap).to_have_attribute("data-total", total1)
    page.get_by_test_id("undo").click()
    expect(formula).to_have_attribute("data-latex", latex0)
    page.locator("body").press("Control+Shift+z")
    expect(formula).to_have_attribute("data-latex", latex1)

    # One slider drag (many input events) is one undo step; a new edit clears the redo stack.
    eps = page.get_by_test_id("value-epsilon")
    before = eps.input_value()
    slider = page.get_by_test_id("slider-epsilon")
    for v in ("0.5", "1", "1.5", "2"):
        slider.fill(v)
    expect(eps).to_have_value("2")
    expect(page.get_by_test_id("redo")).to_be_disabled()
    page.get_by_test_id("undo").click()
    expect(eps).to_have_value(before)
    expect(formula).to_have_attribute("data-latex", latex1)

    # Revert is undoable too.
    page.get_by_test_id("revert-model").click()
    expect(formula).to_have_attribute("data-latex", latex0)
    page.get_by_test_id("undo").click()
    expect(formula).to_have_attribute("data-latex", latex1)


def test_ruler_handles_move_with_the_keyboard(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    s0, e0 = card_range(page, 0)
    s1, e1 = card_range(page, 1)
    handle = page.locator("[data-testid=ruler-boundary][data-boundary='0']")
    handle.focus()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("[data-testid=param-card][data-segment='0'] .card-sub")).to_contain_text(f"{s0}–{e0 - 2}")
    assert card_range(page, 1) == (s1 - 2, e1)
    # Focus stays on the handle through the redraw, so the keys keep working.
    page.keyboard.press("Shift+ArrowRight")
    expect(page.locator("[data-testid=param-card][data-segment='0'] .card-sub")).to_contain_text(f"{s0}–{e0 + 3}")
    expect(page.locator("[data-testid=ruler-boundary][data-boundary='0']")).to_have_attribute(
        "aria-valuenow", str(s1 + 3)
    )
    # End moves segment 2's start to its last layer: a one-layer segment, which can still be clicked.
    page.keyboard.press("End")
    expect(page.locator("[data-testid=param-card][data-segment='1'] .card-sub")).to_contain_text(f"{e1}–{e1}")
    page.locator("[data-testid=ruler-segment][data-segment='1']").click()
    expect(page.locator("[data-testid=param-card][data-segment='1']")).to_have_class("param-card selected")
    # Undo walks back through the keyboard moves.
    for _ in range(4):
        page.get_by_test_id("undo").click()
    expect(page.locator("[data-testid=param-card][data-segment='0'] .card-sub")).to_contain_text(f"{s0}–{e0}")
    expect(page.get_by_test_id("save-model")).to_be_disabled()
