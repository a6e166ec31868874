"""End-to-end: small parameters read right (issue 18, point 1). The default composite's ε = 1e-6 used to
read as 0 in the formula ("0 + Σ…"), as a clipped "0.000(" in its value box and as "ε=0" in a draft's
caption."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from vislrp.server.testing import ServerThread

from .conftest import idle, open_designer


def test_default_epsilon_reads_as_ten_to_the_minus_six(page: Page, server: ServerThread) -> None:
    open_designer(page, server.url)
    formula = page.get_by_test_id("formula")

    # The formula's source and what KaTeX draws: ε = 10⁻⁶ in the denominator, no "0 +".
    latex = formula.get_attribute("data-latex") or ""
    assert "{10^{-6} + \\sum_i" in latex, latex
    assert "0 + \\sum_i" not in latex, latex
    expect(formula.locator(".katex-mathml msup").first).to_have_text("10−6")

    # The ε box shows 1e-6 (an <input type=number> keeps it readable), the γ1p box 0.25.
    expect(page.get_by_test_id("value-epsilon")).to_have_value("1e-6")
    expect(page.get_by_test_id("value-gamma1p")).to_have_value("0.25")

    # γ1p = 0.5: the draft's caption names that change only; ε kept its value, so it is not listed.
    box = page.get_by_test_id("value-gamma1p")
    box.fill("0.5")
    box.press("Enter")
    idle(page)
    caption = page.get_by_test_id("heatmap").locator("figcaption")
    expect(caption).to_contain_text("(draft: S1 custom (γ1p=0.5))")
    expect(caption).not_to_contain_text("ε=")
    expect(page.get_by_test_id("value-epsilon")).to_have_value("1e-6")
