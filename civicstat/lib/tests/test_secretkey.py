"""The secret key rule: with DEBUG off, no key, the public development key or a weak key is refused.

The entry points themselves (server, WSGI, worker, commands) are run in their own processes in
tests/test_server.py.
"""

from __future__ import annotations

import secrets
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from civicstat.lib.secretkey import (
    DEV_SECRET_KEY,
    MAKE_ONE,
    secret_key_ensure,
    secret_key_problem,
    secret_key_read,
)

GOOD = secrets.token_urlsafe(50)


@pytest.mark.parametrize(
    "key",
    [
        "",
        DEV_SECRET_KEY,
        GOOD[:49],  # one short of Django's 50
        "ab" * 40,  # long, but 2 different characters (Django asks for 5)
        "django-insecure-" + GOOD,  # what startproject writes
    ],
    ids=["none", "development", "short", "repetitive", "startproject"],  # the same in every worker
)
def test_it_refuses_a_missing_public_or_weak_key_with_debug_off(key):
    problem = secret_key_problem(key=key, debug=False)
    assert problem is not None
    assert MAKE_ONE in problem and "SECRET_KEY_FILE" in problem


def test_it_accepts_a_random_key_and_any_key_with_debug_on():
    assert secret_key_problem(key=GOOD, debug=False) is None
    assert secret_key_problem(key=DEV_SECRET_KEY, debug=True) is None


def test_a_key_made_as_the_message_says_passes():
    program = MAKE_ONE.split('"')[1]
    made = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          check=True)  # fmt: skip
    assert secret_key_problem(key=made.stdout.strip(), debug=False) is None


def test_it_reads_a_key_file_without_its_newline(tmp_path):
    path = tmp_path / "key"
    path.write_text(GOOD + "\n")
    assert secret_key_read(path=str(path), optional=False) == GOOD
    assert secret_key_read(path="", optional=False) == ""


def test_a_missing_key_file_is_an_error_unless_it_is_the_optional_default(tmp_path):
    missing = str(tmp_path / "nope")
    assert secret_key_read(path=missing, optional=True) == ""
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY_FILE: there is no file at .*nope"):
        secret_key_read(path=missing, optional=False)


@pytest.mark.parametrize(
    "argv",
    [
        ["manage.py", "db_worker"],
        ["manage.py", "run_scheduler"],
        ["manage.py", "send_alerts"],
        ["manage.py", "import_cases", "file.csv"],
        ["manage.py", "runserver"],
    ],
)
def test_commands_that_may_sign_or_send_need_a_key(settings, argv):
    settings.DEBUG = False
    settings.SECRET_KEY = DEV_SECRET_KEY
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is not set"):
        secret_key_ensure(argv=argv)
    with pytest.raises(ImproperlyConfigured):
        secret_key_ensure()  # the web server and WSGI
    settings.SECRET_KEY = GOOD
    secret_key_ensure(argv=argv)
    secret_key_ensure()


@pytest.mark.parametrize(
    "argv",
    [
        ["manage.py"],
        ["manage.py", "--help"],
        ["manage.py", "migrate"],
        ["manage.py", "collectstatic", "--noinput"],
        ["manage.py", "createsuperuser"],
        ["manage.py", "check", "--deploy"],
        ["manage.py", "db_worker", "--help"],
    ],
)
def test_set_up_and_inspection_commands_run_without_a_key(settings, argv):
    settings.DEBUG = False
    settings.SECRET_KEY = DEV_SECRET_KEY
    secret_key_ensure(argv=argv)
