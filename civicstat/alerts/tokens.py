"""Signed links: confirm (expires), unsubscribe one subscription and manage everything (do not)."""

from __future__ import annotations

from django.conf import settings
from django.core import signing

_CONFIRM, _UNSUBSCRIBE, _MANAGE = "alerts.confirm", "alerts.unsubscribe", "alerts.manage"


class BadToken(ValueError):
    """A link that was altered, belongs to nothing, or has expired."""


def confirm_token(subscription_id: int) -> str:
    return signing.TimestampSigner(salt=_CONFIRM).sign(str(subscription_id))


def unsubscribe_token(subscription_id: int) -> str:
    return signing.Signer(salt=_UNSUBSCRIBE).sign(str(subscription_id))


def manage_token(subscriber_id: int) -> str:
    return signing.Signer(salt=_MANAGE).sign(str(subscriber_id))


def read_confirm(token: str) -> int:
    max_age = settings.ALERTS_CONFIRM_DAYS * 86400
    try:
        return int(signing.TimestampSigner(salt=_CONFIRM).unsign(token, max_age=max_age))
    except signing.SignatureExpired:
        raise BadToken("This confirmation link has expired; please subscribe again.") from None
    except (signing.BadSignature, ValueError):
        raise BadToken("This link is not valid; copy the whole link from the email.") from None


def read_unsubscribe(token: str) -> int:
    return _read(_UNSUBSCRIBE, token)


def read_manage(token: str) -> int:
    return _read(_MANAGE, token)


def _read(salt: str, token: str) -> int:
    try:
        return int(signing.Signer(salt=salt).unsign(token))
    except (signing.BadSignature, ValueError):
        raise BadToken("This link is not valid; copy the whole link from the email.") from None
