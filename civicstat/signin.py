"""The admin's sign-in, throttled: failed sign-ins are counted per account and per client address,
and past either limit that account or address is locked out for a while, right password included.

Counts live in the default cache (one count for every web process when REDIS_URL is set; one per
process otherwise), in windows of LOGIN_FAILURES_WINDOW_SECONDS from the first failure. An account
is its username in any case; an address is `civicstat.web.client_ip`, so a client cannot choose its
own with X-Forwarded-For. A success clears the account's count but not the address's: an attacker
who holds one account must not reset the address's count while guessing others. Every failure is
logged to `civicstat.security` with the username and address, never the password.

Not django-axes, the usual library: it has one failure limit for all its lockout parameters, so "5
per account and 20 per address" cannot be said, and it brings an app with three tables, a
middleware and an authentication backend, for what takes a form and a few cache counters here.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from civicstat.web import client_ip

log = logging.getLogger("civicstat.security")


def _counters(*, request: HttpRequest, username: str) -> list[tuple[str, int]]:
    """The cache keys this attempt counts under, each with its limit."""
    account = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
    return [
        (f"signin:account:{account}", settings.LOGIN_FAILURES_PER_ACCOUNT),
        (f"signin:address:{client_ip(request)}", settings.LOGIN_FAILURES_PER_IP),
    ]


def signin_wait(*, request: HttpRequest, username: str) -> int:
    """Seconds until this account and address may try again; 0 when neither is locked out."""
    keys = [f"{key}:locked" for key, _ in _counters(request=request, username=username)]
    until = cache.get_many(keys).values()
    return max([0, *(math.ceil(float(u) - time.time()) for u in until)])


def signin_failed(*, request: HttpRequest, username: str) -> int:
    """Count a failed sign-in; the seconds of lockout it starts (0 for none)."""
    address = client_ip(request)
    log.warning("Failed admin sign-in for username %r from %s", username, address)
    lockout = settings.LOGIN_LOCKOUT_SECONDS
    started = 0
    for key, limit in _counters(request=request, username=username):
        if _count(key) >= limit:
            cache.set(f"{key}:locked", time.time() + lockout, lockout)
            # The next window starts after the lockout, with a clean count.
            cache.delete(key)
            started = lockout
            what = "account" if key.startswith("signin:account:") else "address"
            log.warning(
                "Admin sign-in locked out for %s s after %s failures for the %s (username %r, "
                "from %s)", lockout, limit, what, username, address,
            )  # fmt: skip
    return started


def signin_succeeded(*, request: HttpRequest, username: str) -> None:
    account, _address = _counters(request=request, username=username)
    cache.delete(account[0])


def _count(key: str) -> int:
    window = settings.LOGIN_FAILURES_WINDOW_SECONDS
    cache.add(key, 0, window)
    try:
        return cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.set(key, 1, window)
        return 1


def _minutes(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


class ThrottledAuthenticationForm(AdminAuthenticationForm):
    """The admin's sign-in form, refusing an account or address that is locked out before any
    password is checked."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "locked": (
            "Too many failed sign-ins for this account or from this address. For your "
            "protection, sign-in is paused: try again in %(wait)s."
        ),
    }
    locked_for = 0  # seconds, when this attempt was refused for a lockout

    def clean(self) -> dict[str, Any]:
        if self.request is None:
            raise ValueError("the sign-in throttle counts by request: pass it to the form")
        username = self.cleaned_data.get("username") or ""
        wait = signin_wait(request=self.request, username=username)
        if wait > 0:
            log.warning("Admin sign-in refused during a lockout for username %r from %s",
                        username, client_ip(self.request))  # fmt: skip
            raise self._locked(wait)
        try:
            cleaned = super().clean()
        except ValidationError as error:
            # A wrong password, an unknown or inactive user, or a user who is not staff.
            if error.code == "invalid_login":
                wait = signin_failed(request=self.request, username=username)
                if wait:
                    raise self._locked(wait) from None
            raise
        if self.user_cache is not None:
            signin_succeeded(request=self.request, username=username)
        return cleaned

    def _locked(self, wait: int) -> ValidationError:
        self.locked_for = wait
        return ValidationError(
            self.error_messages["locked"], code="locked", params={"wait": _minutes(wait)}
        )


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's own sign-in view, answering 429 (with Retry-After) while locked out."""
    response = admin.site.login(request)
    form = (getattr(response, "context_data", None) or {}).get("form")
    if isinstance(form, ThrottledAuthenticationForm) and form.locked_for:
        response.status_code = 429
        response["Retry-After"] = str(form.locked_for)
    return response
