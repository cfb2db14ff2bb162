"""Make sure the page tests have a browser: `python -m tests.e2e.ensure_browser` (`make browser`,
which `make setup` and `make test` run).

A browser found (CHROMIUM_PATH, or one on PATH, or Playwright's own) is checked by asking its
version. Otherwise one is installed, saying so in one line: the distribution's Chromium through
apt-get when this user may (root, or passwordless sudo), else Playwright's own build
(`playwright install chromium`, a download). If neither works, it stops with exit code 1 and says
what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.e2e.browser import CHROMIUM_ENV, HOW_TO_GET_ONE, NoBrowser, find_chromium

APT_PACKAGES = ("chromium", "chromium-browser")  # Debian's name, then Ubuntu's older one


def _version(path: Path) -> str | None:
    """The browser's own version line, or None if it does not run (a broken install, or Ubuntu's
    snap stub inside a container)."""
    try:
        done = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    line = done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""
    return line if done.returncode == 0 and line else None


def _found() -> tuple[Path, str] | None:
    try:
        path = find_chromium()
    except NoBrowser:
        return None
    version = _version(path)
    return (path, version) if version else None


def _apt_prefix() -> list[str] | None:
    """How this user runs apt-get, or None if it may not."""
    if shutil.which("apt-get") is None:
        return None
    if os.geteuid() == 0:
        return []
    sudo = shutil.which("sudo")
    if sudo is None:
        return None
    allowed = subprocess.run([sudo, "-n", "true"], capture_output=True, check=False)
    return [sudo, "-n"] if allowed.returncode == 0 else None


def _apt_install(prefix: list[str]) -> bool:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def apt(*args: str) -> bool:
        done = subprocess.run(
            [*prefix, "apt-get", *args], stdout=subprocess.DEVNULL, env=env, check=False
        )
        return done.returncode == 0

    if not apt("update", "-qq"):
        return False
    return any(apt("install", "-y", "-qq", package) and _found() for package in APT_PACKAGES)


def _playwright_install() -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "playwright", "install", "chromium"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        # Playwright repeats its error once per mirror it tries: the first line says it all.
        first = next((line for line in done.stderr.splitlines() if line.strip()), "no reason given")
        print(f"Page tests: Playwright's download failed: {first.strip()}", file=sys.stderr)
    return done.returncode == 0 and _found() is not None


def main() -> int:
    found = _found()
    if found is None and not os.environ.get(CHROMIUM_ENV, "").strip():
        prefix = _apt_prefix()
        if prefix is not None:
            print("Page tests: no browser found; installing Debian's chromium with apt-get…")
            _apt_install(prefix)
            found = _found()
        if found is None:
            print("Page tests: no browser found; downloading Playwright's Chromium…")
            _playwright_install()
            found = _found()
    if found is None:
        try:
            reason = f"{find_chromium()} does not run"
        except NoBrowser as error:
            reason = str(error)
        print(f"Page tests: no browser they can drive ({reason}). To get one, {HOW_TO_GET_ONE}.",
              file=sys.stderr)  # fmt: skip
        return 1
    path, version = found
    print(f"Page tests: {version} ({path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
