"""The set-up contract: `make setup` / `make test` find a browser for the page tests, or install
one, or stop with a message that says what to install (tests/e2e/ensure_browser.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _make_browser(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`make browser` as a machine with only `make` and this project's Python on its PATH would
    run it: no Chromium, no apt-get, no sudo, an empty Playwright browser folder, and Playwright's
    download pointed at a closed port (so that the test never downloads a browser)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("make", "bash", "sh"):
        found = shutil.which(tool)
        assert found, f"{tool} is needed to run this test"
        (bin_dir / tool).symlink_to(found)
    clean = {
        "HOME": str(tmp_path),
        "PATH": str(bin_dir),
        "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path / "playwright"),
        "PLAYWRIGHT_DOWNLOAD_HOST": "http://127.0.0.1:9",
        **env,
    }
    return subprocess.run(
        ["make", "-s", "-C", str(ROOT), "browser", f"PY={sys.executable}"],
        env=clean, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_without_a_browser_or_a_way_to_get_one_it_stops_and_says_what_to_install(
    tmp_path: Path,
) -> None:
    done = _make_browser(tmp_path)
    assert done.returncode != 0
    assert "downloading Playwright's Chromium" in done.stdout
    assert "Playwright's download failed" in done.stderr
    assert "apt-get install chromium" in done.stderr
    assert "playwright install chromium" in done.stderr
    assert "CHROMIUM_PATH" in done.stderr


def test_a_browser_named_by_chromium_path_is_used_without_searching(tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "make test installs Chromium before the suite runs"
    done = _make_browser(tmp_path, CHROMIUM_PATH=browser)
    assert done.returncode == 0, done.stderr
    assert f"({browser})" in done.stdout
    assert "Chromium" in done.stdout  # the browser's own --version line


def test_a_chromium_path_that_is_not_a_browser_is_refused_and_nothing_is_installed(
    tmp_path: Path,
) -> None:
    not_a_browser = tmp_path / "chromium.txt"
    not_a_browser.write_text("not a program")
    done = _make_browser(tmp_path, CHROMIUM_PATH=str(not_a_browser))
    assert done.returncode != 0
    assert "downloading" not in done.stdout  # an explicit setting is never second-guessed
    assert f"CHROMIUM_PATH={not_a_browser} is not an executable file" in done.stderr


def test_the_page_tests_drive_the_browser_make_browser_reports() -> None:
    from tests.e2e.browser import find_chromium

    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.ensure_browser"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(f"({find_chromium()})")
