"""Where the page tests find Chromium and axe-core, the viewports they use, and axe's report."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from playwright.sync_api import ViewportSize

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # gitignored

# The one setting: CHROMIUM_PATH names the browser. Unset, the page tests take the first of these
# on PATH (Debian's and Ubuntu's packages, Google's Chrome), then Playwright's own download.
CHROMIUM_ENV = "CHROMIUM_PATH"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps trying to reach Google's servers, which this network refuses.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"  # `npm ci` installs it
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]  # 2.2 AA: target-size

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


class NoBrowser(Exception):
    """No browser the page tests can drive; the message says what to install or set."""


HOW_TO_GET_ONE = (
    "install Chromium (Debian or Ubuntu: `sudo apt-get install chromium`), or run "
    "`.venv/bin/playwright install chromium` on a machine with internet access, or set "
    f"{CHROMIUM_ENV} to a Chromium or Chrome executable"
)


def playwright_chromium() -> Path | None:
    """Playwright's own Chromium, if `playwright install chromium` has put it in place."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        path = Path(playwright.chromium.executable_path)
    return path if path.is_file() else None


def find_chromium() -> Path:
    """The browser the page tests drive: CHROMIUM_PATH if set (and then only it), else the first
    of CHROMIUM_NAMES on PATH, else Playwright's own download. Raises NoBrowser."""
    named = os.environ.get(CHROMIUM_ENV, "").strip()
    if named:
        path = Path(named)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise NoBrowser(f"{CHROMIUM_ENV}={named} is not an executable file")
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    own = playwright_chromium()
    if own is not None:
        return own
    raise NoBrowser(f"no Chromium found ({', '.join(CHROMIUM_NAMES)} on PATH, or Playwright's own)")


def axe_report(violations: list[dict[str, Any]]) -> str:
    """axe-core's violations as a person reads them: rule, impact, help, and each element."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            lines.append(f"    at {json.dumps(node['target'])}: {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n      ")
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)
