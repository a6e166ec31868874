"""Browser tests of the designer: headless Debian chromium driven by Playwright, app served in-process."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from vislrp.server import Settings
from vislrp.server.app import STATIC_DIR
from vislrp.server.testing import CHROMIUM, CHROMIUM_ARGS, ServerThread
from vislrp.zoo import DEFAULT_MODEL, ZooModel, load_model

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import BrowserContext, Locator, Page, expect, sync_playwright


@pytest.fixture(scope="session")
def zoo_model() -> ZooModel:
    assert (STATIC_DIR / "index.html").is_file(), "front end not built: run `pip install -e .`"
    return load_model(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def browser_context() -> Iterator[BrowserContext]:
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1500, "height": 1200},
        )
        ctx.set_default_timeout(30_000)
        yield ctx
        ctx.close()


@pytest.fixture(scope="module")
def server(zoo_model: ZooModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    with ServerThread(Settings(data_dir=tmp_path_factory.mktemp("data"), zoo_model=zoo_model)) as srv:
        yield srv


@pytest.fixture
def page(browser_context: BrowserContext) -> Iterator[Page]:
    pg = browser_context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    pg.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def open_designer(page: Page, url: str) -> None:
    """Load the app and wait until the default photo is explained and nothing is in flight."""
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("[data-testid=heatmap][data-class-index]")
    idle(page)


def idle(page: Page) -> None:
    page.wait_for_function("document.body.dataset.busy === '0'")


def add_two_rows(page: Page) -> None:
    """Two comparison rows: the shown image for its top class, then for its second class."""
    page.get_by_test_id("add-compare-row").click()
    page.get_by_test_id("prediction-bar").nth(1).click()
    idle(page)
    page.get_by_test_id("add-compare-row").click()


def fill_landscape(page: Page, metric: str, *axes: tuple[str, float, float, int], segment: str = "1") -> None:
    """Set view H's segment, its one or two axes (parameter, start, stop, steps) and metric, then run it."""
    view = page.get_by_test_id("landscape-view")
    view.get_by_test_id("landscape-segment").select_option(segment)
    for k, (param, start, stop, steps) in enumerate(axes, start=1):
        view.get_by_test_id(f"landscape-param-{k}").select_option(param)
        view.get_by_test_id(f"landscape-start-{k}").fill(f"{start:g}")
        view.get_by_test_id(f"landscape-stop-{k}").fill(f"{stop:g}")
        view.get_by_test_id(f"landscape-steps-{k}").fill(str(steps))
    if len(axes) == 1:
        view.get_by_test_id("landscape-param-2").select_option("")
    view.get_by_test_id("landscape-metric").select_option(metric)
    view.get_by_test_id("landscape-run").click()


def drag(page: Page, x0: float, y0: float, x1: float, y1: float, steps: int = 8) -> None:
    """Press at (x0, y0), move to (x1, y1) in ``steps`` mouse events (D3 brushes need the moves), release."""
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, steps + 1):
        page.mouse.move(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps)
    page.mouse.up()


def download(page: Page, button: Locator) -> Path:
    """Click ``button`` and return the file the page downloads."""
    with page.expect_download() as info:
        button.click()
    path = info.value.path()
    assert path is not None
    return Path(path)


def upload_photo(page: Page, folder: Path, name: str = "my-tabby.png") -> Path:
    """Upload a small drawn photo (a dark square on brown) through the page and wait until it is explained."""
    from PIL import Image

    photo = folder / name
    img = Image.new("RGB", (300, 260), (190, 140, 90))
    img.paste((40, 30, 20), (80, 60, 220, 200))
    img.save(photo)
    page.get_by_test_id("image-upload").set_input_files(str(photo))
    expect(page.get_by_test_id("image-caption")).to_contain_text(name)
    idle(page)
    return photo
