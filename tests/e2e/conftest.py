"""Real-browser page tests: the system Chromium, driven by Playwright, against pytest-django's
live server.

Fixtures: `browser` (one Chromium per xdist worker), `page` (a fresh context per test, failing
the test on a JavaScript error or a Content-Security-Policy violation), `axe_page` (the same, with
CSP bypassed so axe-core can be injected), `kc_cases` (a slice of the real Kansas City sample,
imported into the live server's database) and the helpers `axe_violations` and `screenshot`.

Playwright's sync API marks the thread that started it as running an asyncio event loop for as
long as it runs. Django then refuses ORM calls in that thread (SynchronousOnlyOperation), and
`asyncio.run()` refuses to start. So the marker is set only while an e2e test is being set up, run
or torn down, with `DJANGO_ALLOW_ASYNC_UNSAFE` beside it (no event loop really runs code there), and
cleared between e2e tests: the other tests that an xdist worker runs after these see a plain thread.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import http.server
import os
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from civicstat.ingest.importer import import_file
from civicstat.ingest.mapping import load_profile
from civicstat.ingest.models import ImportRun
from tests.e2e.browser import (
    ARTIFACTS,
    AXE_JS,
    AXE_TAGS,
    CHROMIUM_ARGS,
    DESKTOP,
    HOW_TO_GET_ONE,
    ROOT,
    NoBrowser,
    find_chromium,
)

KC_SAMPLE = ROOT / "tests" / "data" / "kansas-city" / "kcmo311_sample_10k.csv.gz"
# Every 10th row of the date-sorted 10k sample: 1,000 cases from 2007 to 2019, imported in a
# fraction of a second. The live server needs a transactional database, which is emptied after
# every test, so a module-wide import would be gone after the first test.
KC_SLICE_STEP = 10


# -- The event-loop marker: set for e2e tests only ----------------------------------------------


@dataclass
class _Driver:
    playwright: Playwright | None = None
    loop: asyncio.AbstractEventLoop | None = None
    env: dict[str, str | None] = field(default_factory=dict)

    def enter(self) -> None:
        """Before an e2e test's phase: let Playwright calls run and the ORM work beside them."""
        self.env["DJANGO_ALLOW_ASYNC_UNSAFE"] = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        if self.loop is not None:
            asyncio._set_running_loop(self.loop)

    def leave(self) -> None:
        """After the phase: the thread is plain again until the next e2e test."""
        if self.loop is not None and asyncio._get_running_loop() is self.loop:
            asyncio._set_running_loop(None)
        previous = self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


_driver = _Driver()


def _in_phase() -> Generator[None, object, object]:
    _driver.enter()
    try:
        return (yield)
    finally:
        _driver.leave()


# These hooks run for the items under this folder only (pytest calls them through `item.ihook`).
@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _in_phase())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _in_phase())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    return (yield from _in_phase())


# -- The browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Chromium (tests/e2e/browser.py `find_chromium`), launched once per xdist worker. A missing
    browser fails, never skips: `make test` installs one first (tests/e2e/ensure_browser.py)."""
    try:
        executable = find_chromium()
    except NoBrowser as error:
        pytest.fail(f"The page tests need a browser: {error}. To get one, {HOW_TO_GET_ONE}.",
                    pytrace=False)  # fmt: skip
    playwright = sync_playwright().start()
    _driver.playwright = playwright
    _driver.loop = asyncio.get_running_loop()  # the loop Playwright marked as running
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
    except Exception:
        playwright.stop()
        _driver.playwright = _driver.loop = None
        raise
    yield chromium
    # This teardown may run in a non-e2e test's teardown (the worker's last test), so set the
    # marker for Playwright here too; stopping Playwright clears it for good.
    if _driver.loop is not None:
        asyncio._set_running_loop(_driver.loop)
    try:
        chromium.close()
    finally:
        playwright.stop()
        _driver.playwright = _driver.loop = None


def _new_page(browser: Browser, *, bypass_csp: bool = False) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, bypass_csp=bypass_csp, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            problems.append(f"CSP violation: {message.text}")

    page.on("console", on_console)
    try:
        yield page
    finally:
        context.close()
    assert not problems, "The page reported problems:\n" + "\n".join(problems)


@pytest.fixture(autouse=True)
def _no_sqlite_progress_handler(_test_settings: None, settings: Any) -> None:
    """No statement time limit for the live server's reads. On SQLite the limit is a progress
    handler, a Python callback that SQLite calls while it runs a statement; here the test and the
    live server's request threads share pytest-django's in-memory database through SQLite's shared
    cache. A CI run stalled with a request thread and the test's thread both waiting on locks
    (futex waits, no CPU) inside a map read that had the handler installed: most likely one held
    the shared cache's mutex while its callback waited for the GIL, and the other the reverse.
    Production SQLite is a file with a connection per thread and no shared cache. The limit itself
    is tested through the test client (civicstat/maps/tests/test_expensive_reads.py)."""
    settings.PUBLIC_QUERY_TIMEOUT_MS = 0


@pytest.fixture
def page(browser: Browser, live_server: Any) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies or cache) at desktop size, with the live
    server running; `live_server.url` is its address."""
    yield from _new_page(browser)


@pytest.fixture
def axe_page(browser: Browser, live_server: Any) -> Iterator[Page]:
    """Like `page`, with the Content-Security-Policy bypassed so axe-core can be injected inline.
    Use `page` for everything else: it catches CSP violations."""
    yield from _new_page(browser, bypass_csp=True)


# -- Data -----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def kc_slice_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every KC_SLICE_STEP-th row of the real KC sample, written once per worker."""
    path = tmp_path_factory.mktemp("kc") / "kcmo311_slice.csv.gz"
    with (
        gzip.open(KC_SAMPLE, "rt", encoding="utf-8-sig", newline="") as src,
        gzip.open(path, "wt", encoding="utf-8", newline="") as dst,
    ):
        reader, writer = csv.reader(src), csv.writer(dst)
        writer.writerow(next(reader))
        for n, row in enumerate(reader):
            if n % KC_SLICE_STEP == 0:
                writer.writerow(row)
    return path


@pytest.fixture
def kc_cases(kc_areas: None, kc_slice_file: Path, live_server: Any) -> None:
    """The KC slice imported with the kansas-city profile, as the root conftest's `kc_sample`
    imports the whole file, into the database the live server reads."""
    run = import_file(path=kc_slice_file, profile=load_profile(name="kansas-city"))
    assert run.state == ImportRun.State.DONE, f"the KC slice did not import: {run.error}"
    assert run.created > 900, f"the KC slice imported only {run.created} cases"


@pytest.fixture
def other_site(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """A second web server on 127.0.0.1, another origin than the live server's `localhost`: it
    serves a page the test writes, as a department's own site or a blog would. Call it with the
    page's HTML; it returns the page's address."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    pages = iter(range(1, 1000))

    def publish(html: str) -> str:
        # A new name each time: a page rewritten within the same second would be answered
        # "304 Not Modified" and the browser would show the old one from its cache.
        name = f"page-{next(pages)}.html"
        (tmp_path / name).write_text(html, encoding="utf-8")
        return f"http://127.0.0.1:{server.server_address[1]}/{name}"

    yield publish
    server.shutdown()
    server.server_close()


# -- Helpers --------------------------------------------------------------------------------------


AXE_DEADLINE_MS = 90_000  # axe waits up to 60 s for a frame that does not answer


@pytest.fixture
def axe_violations() -> Callable[[Page], list[dict[str, Any]]]:
    """axe-core's WCAG 2.2 A and AA violations on the page as it is now (AXE_TAGS)."""

    def run(page: Page) -> list[dict[str, Any]]:
        if not AXE_JS.is_file():
            pytest.fail(f"axe-core not found at {AXE_JS}: run `npm ci` (or `make setup`).")
        page.add_script_tag(path=AXE_JS)
        # A lazy iframe that is off screen never loads, and axe.run then waits for it forever
        # (a page test once held CI to its limit): load every frame first, and give axe.run a
        # deadline, so that a stuck run fails the test with a reason instead.
        result: dict[str, Any] = page.evaluate(
            """([tags, ms]) => {
                document.querySelectorAll("iframe[loading=lazy]").forEach(f => f.loading = "eager");
                return Promise.race([
                    axe.run(document, {runOnly: {type: "tag", values: tags}}),
                    new Promise((_, no) => setTimeout(
                        () => no(new Error("axe.run did not finish in " + ms + " ms")), ms)),
                ]);
            }""",
            [AXE_TAGS, AXE_DEADLINE_MS],
        )
        assert result["passes"], "axe-core checked nothing: is the page empty?"
        return _not_essential(page, result["violations"])

    return run


def _not_essential(page: Page, violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The violations, less target-size's on map markers that are 24 × 24 px or more and fail only
    because a neighbour overlaps them. A marker sits where its cases are: two close together
    overlap, and WCAG 2.5.8 exempts targets whose place is essential (its Understanding document
    names maps). A marker smaller than 24 px still fails; so does anything not on a map."""
    kept = []
    for v in violations:
        if v["id"] == "target-size":
            v["nodes"] = [n for n in v["nodes"] if not _overlapped_marker(page, n["target"])]
            if not v["nodes"]:
                continue
        kept.append(v)
    return kept


def _overlapped_marker(page: Page, target: list[Any]) -> bool:
    if len(target) != 1 or not isinstance(target[0], str):
        return False
    return bool(page.evaluate(
        """(sel) => {
            const e = document.querySelector(sel);
            if (!e || !e.matches(".leaflet-marker-pane .leaflet-marker-icon")) return false;
            const r = e.getBoundingClientRect();
            return r.width >= 24 && r.height >= 24;
        }""",
        target[0]))  # fmt: skip


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    """Saves a full-page screenshot to tests/e2e/artifacts/NAME.png (gitignored)."""

    def save(page: Page, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return save
