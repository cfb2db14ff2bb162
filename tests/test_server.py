"""`python -m civicstat.server`, as `make serve` runs it: a real granian process on loopback; and
every entry point (server, WSGI, worker, scheduler, mail) refusing to run on a key anyone knows."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from civicstat.alerts.tests.conftest import free_port
from civicstat.lib.secretkey import DEV_SECRET_KEY, MAKE_ONE

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = secrets.token_urlsafe(50)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    # Discovery reads no table, so an empty database file is enough.
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "DEBUG": "False",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECRET_KEY": GOOD_KEY,
        # Not this checkout's var/secret_key: the key is only what a test gives.
        "SECRET_KEY_FILE": "",
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
        cwd=ROOT, env=_env(tmp_path, WEB_WORKERS="1", WEB_THREADS="2"), start_new_session=True,
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
        try:
            code = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # never left running after the test
            raise
    assert code == 0


def test_a_bad_setting_stops_the_start_with_its_name(tmp_path):
    done = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "civicstat.server", "--port", str(free_port())],
        cwd=ROOT, env=_env(tmp_path, WEB_WORKERS="0"), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "WEB_WORKERS must be 1 or more" in done.stderr


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run to the end; one that is still running after 60 s (a server that started when it should
    have refused) fails the test and is stopped with every process it started."""
    process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, *command], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"{command} was still running after 60 s")
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


ENTRY_POINTS = {
    "web server": ["-m", "civicstat.server", "--port", "0"],
    "WSGI application": ["-c", "import civicstat.wsgi"],
    "task worker": ["manage.py", "db_worker"],
    "sync scheduler": ["manage.py", "run_scheduler"],
    "alert mailer": ["manage.py", "send_alerts"],
    "import": ["manage.py", "import_cases", "nope.csv", "--profile", "boston"],
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_every_entry_point_refuses_to_start_with_no_secret_key(tmp_path, entry):
    """With DEBUG off and no key, nothing serves, works tasks or sends mail on the public
    development key: each exits at once, saying how to make a key."""
    done = _run(ENTRY_POINTS[entry], _env(tmp_path, SECRET_KEY=""))
    assert done.returncode != 0
    assert "SECRET_KEY is not set" in done.stderr
    assert MAKE_ONE in done.stderr


@pytest.mark.parametrize(
    "key", [DEV_SECRET_KEY, GOOD_KEY[:40], "ab" * 40], ids=["development", "short", "repetitive"]
)
def test_the_server_refuses_the_development_key_and_weak_keys(tmp_path, key):
    done = _run(ENTRY_POINTS["web server"], _env(tmp_path, SECRET_KEY=key))
    assert done.returncode == 2
    assert MAKE_ONE in done.stderr


def test_set_up_needs_no_key_and_the_worker_starts_with_one_from_a_file(tmp_path):
    """A checkout is migrated before it has a key; then a key file (as `make setup` writes one,
    or a deployment's secret store) lets the worker run, and the WSGI application load."""
    assert _run(["manage.py", "migrate", "-v0"], _env(tmp_path, SECRET_KEY="")).returncode == 0
    key_file = tmp_path / "secret_key"
    key_file.write_text(GOOD_KEY + "\n")
    env = _env(tmp_path, SECRET_KEY="", SECRET_KEY_FILE=str(key_file))
    worker = _run(["manage.py", "db_worker", "--batch", "--no-startup-delay"], env)
    assert worker.returncode == 0, worker.stderr
    assert "Starting worker" in worker.stdout + worker.stderr
    wsgi = _run(ENTRY_POINTS["WSGI application"], env)
    assert wsgi.returncode == 0, wsgi.stderr


def test_a_development_machine_with_debug_on_needs_no_key(tmp_path):
    done = _run(["-c", "import civicstat.wsgi"], _env(tmp_path, SECRET_KEY="", DEBUG="True"))
    assert done.returncode == 0, done.stderr


def test_check_deploy_passes_with_the_production_settings_the_readme_gives(tmp_path):
    """README, "Running in production": these variables and nothing else leave `check --deploy`
    with no warning."""
    env = _env(
        tmp_path,
        ALLOWED_HOSTS="stat.example.gov",
        CSRF_TRUSTED_ORIGINS="https://stat.example.gov",
        HTTPS="True",
        DATABASE_URL="postgres://civicstat:secret@127.0.0.1:5432/civicstat",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    done = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout
