"""The secret key: where it comes from, and the refusal to run on one that anyone can know.

The key signs sessions, CSRF tokens, the admin's messages and the links in alert emails (confirm,
manage, unsubscribe): whoever knows it can forge them. The development key below is in the source,
so it is allowed only with DEBUG on. With DEBUG off, every process that serves pages, runs tasks or
sends mail refuses to start on it, on no key, or on a key that Django's `check --deploy` calls
weak (W009: fewer than 50 characters, fewer than 5 different ones, or a `django-insecure-` prefix).
Only the set-up and inspection commands in `KEYLESS_COMMANDS` run without a key, so that a
checkout can be installed and migrated before it has one.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

DEV_SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105 (public on purpose)
MAKE_ONE = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'

# manage.py commands that sign, verify and send nothing: set-up (`make setup` collects static
# files, `make demo` migrates) and inspection. Every other command (db_worker, run_scheduler,
# send_alerts, imports that queue alert tasks, runserver...) needs a real key.
KEYLESS_COMMANDS = frozenset(
    {
        "help",
        "version",
        "check",
        "migrate",
        "makemigrations",
        "showmigrations",
        "sqlmigrate",
        "collectstatic",
        "findstatic",
        "createsuperuser",
        "changepassword",
        "shell",
        "dbshell",
    }
)
_HELP = frozenset({"-h", "--help", "--version"})


def secret_key_read(*, path: str, optional: bool) -> str:
    """The key held in the file at `path` ("" when `path` is empty, or when an optional file is
    missing). Surrounding whitespace is not part of it (files end with a newline)."""
    if not path:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        if optional:
            return ""
        raise ImproperlyConfigured(f"SECRET_KEY_FILE: there is no file at {path}") from None


def secret_key_problem(*, key: str, debug: bool) -> str | None:
    """Why a process must not run on `key`, or None when it may."""
    from django.core.checks.security.base import (
        SECRET_KEY_INSECURE_PREFIX,
        SECRET_KEY_MIN_LENGTH,
        SECRET_KEY_MIN_UNIQUE_CHARACTERS,
    )

    if debug:
        return None
    if not key or key == DEV_SECRET_KEY:
        what = "SECRET_KEY is not set, and the development key is public"
    elif (
        len(key) < SECRET_KEY_MIN_LENGTH
        or len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
        or key.startswith(SECRET_KEY_INSECURE_PREFIX)
    ):
        what = (
            f"SECRET_KEY is too weak: it needs at least {SECRET_KEY_MIN_LENGTH} characters, "
            f"{SECRET_KEY_MIN_UNIQUE_CHARACTERS} of them different, and no "
            f"{SECRET_KEY_INSECURE_PREFIX!r} prefix"
        )
    else:
        return None
    return (
        f"CivicStat will not start with DEBUG off: {what}.\n"
        f"Make a key with\n    {MAKE_ONE}\n"
        "and set it as SECRET_KEY, or write it to a file named by SECRET_KEY_FILE "
        "(on a developer's machine, `make setup` writes one to var/secret_key)."
    )


def secret_key_ensure(*, argv: list[str] | None = None) -> None:
    """Raise ImproperlyConfigured when this process must not run on the configured key.

    `argv` is manage.py's command line; None is the web server and the WSGI application, which
    always need a key.
    """
    if argv is not None:
        command = argv[1] if len(argv) > 1 else "help"
        if command in KEYLESS_COMMANDS or command.startswith("-") or _HELP.intersection(argv):
            return
    from django.conf import settings

    problem = secret_key_problem(key=settings.SECRET_KEY, debug=settings.DEBUG)
    if problem:
        raise ImproperlyConfigured(problem)
