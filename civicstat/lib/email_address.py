"""One spelling of an email address for delivery, and one key for telling two spellings apart.

`Bob@X.org`, `bob@x.org` and ` BOB@X.ORG ` reach one mailbox: the domain is case-insensitive by
the DNS, and although RFC 5321 lets the local part be case-sensitive, no provider treats it so.
Mail goes to the address as typed (the local part kept, in case one ever does); everything that
counts or looks up addresses (rate limits, the alerts per address, the subscriber table) uses the
key, so that a spelling cannot pass for another address.
"""

from __future__ import annotations

import contextlib
import re

# A quoted local part names the same mailbox as its unquoted letters: `"b\ob"` is `bob`.
_QUOTED_PAIR = re.compile(r"\\(.)")


def email_normalize(raw: str) -> str:
    """The address to deliver to: without surrounding whitespace, its domain lower-case and in
    IDNA (ASCII) form, as Django's mailer sends it; the local part as typed."""
    address = raw.strip()
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    if not domain.startswith("["):  # an address literal such as [192.0.2.1] stays as it is
        domain = domain.lower()
        # An empty or over-long label is not an address (the form says so): left as typed.
        with contextlib.suppress(UnicodeError):
            domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}"


def email_key(raw: str) -> str:
    """What every spelling of one mailbox shares: the normalised address, its local part unquoted
    and the whole lower-case."""
    address = email_normalize(raw)
    local, at, domain = address.rpartition("@")
    if at and len(local) >= 2 and local.startswith('"') and local.endswith('"'):
        local = _QUOTED_PAIR.sub(r"\1", local[1:-1])
    return f"{local}@{domain}".lower() if at else address.lower()


def email_rate_key(raw: str) -> str:
    """The key without a `+tag` on the local part: for counting sign-ups per mailbox, since most
    providers deliver `bob+1@…`, `bob+2@…` to bob. Identity (one subscriber per address) keeps
    the tag: `bob+alerts@…` may be how a resident files their alerts."""
    key = email_key(raw)
    local, at, domain = key.rpartition("@")
    base = local.split("+", 1)[0]
    return f"{base}@{domain}" if at and base else key
