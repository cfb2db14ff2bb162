"""Writes of the Open311 server: API keys and posted requests."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from civicstat.cases.models import Case, Layer
from civicstat.cases.records import CaseRecord
from civicstat.cases.services import case_create
from civicstat.open311.models import ApiKey, RequestToken


def key_hash(raw: str) -> str:
    # A random 32-byte key needs no slow hash: guessing it is hopeless, and a fast lookup by
    # digest keeps every POST cheap.
    return hashlib.sha256(raw.encode()).hexdigest()


def api_key_issue(*, name: str) -> tuple[ApiKey, str]:
    """A new key for `name`; the raw key is returned once and never stored."""
    raw = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(name=name, prefix=raw[:8], key_hash=key_hash(raw))
    return key, raw


def api_key_revoke(*, key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])


def api_key_check(*, raw: str) -> ApiKey | None:
    """The live key matching `raw`, marked as used; None when unknown or revoked."""
    if not raw:
        return None
    key = ApiKey.objects.filter(key_hash=key_hash(raw), revoked_at__isnull=True).first()
    if key is not None:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return key


def request_post(
    *, layer: Layer, record: CaseRecord, contact: dict[str, Any], api_key: ApiKey
) -> tuple[Case, RequestToken]:
    """Create the case a client posted, its reporter's contact and the token, all or nothing."""
    with transaction.atomic():
        token = RequestToken.objects.create(token=secrets.token_hex(16), api_key=api_key)
        record.external_id = f"{record.external_id}{token.pk}"
        case = case_create(layer=layer, record=record, contact=contact)
        token.case = case
        token.save(update_fields=["case"])
    return case, token
