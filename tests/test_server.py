"""`python -m civicstat.server`, as `make serve` runs it: a real granian process on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from civicstat.alerts.tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    # Discovery reads no table, so an empty database file is enough.
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "DEBUG": "False",
        "ALLOWED_HOSTS": "127.0.0.1",
        **extra,
    }


def _up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited with {server.returncode}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("the server did not answer within 30 s")


def test_the_server_answers_on_kept_open_connections_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "civicstat.server", "--port", str(port)],
        cwd=ROOT, env=_env(tmp_path, WEB_WORKERS="1", WEB_THREADS="2"),
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/open311/v2/discovery.json"
        _up(url, server)
        seen: set[tuple[str, int]] = set()

        def remember(response: httpx.Response) -> None:
            stream = response.extensions["network_stream"]
            seen.add(stream.get_extra_info("client_addr"))

        with httpx.Client(event_hooks={"response": [remember]}) as client:
            answers = [client.get(url) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert answers[0].json()["endpoints"][0]["url"].endswith("/open311/v2/")
        # One client connection served all three: the server keeps connections open.
        assert len(seen) == 1
        # Framing is refused outside the embed views, whatever serves the page.
        assert answers[0].headers["x-frame-options"] == "DENY"
    finally:
        server.send_signal(signal.SIGINT)
        code = server.wait(timeout=30)
    assert code == 0


def test_a_bad_setting_stops_the_start_with_its_name(tmp_path):
    done = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "civicstat.server", "--port", str(free_port())],
        cwd=ROOT, env=_env(tmp_path, WEB_WORKERS="0"), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "WEB_WORKERS must be 1 or more" in done.stderr
