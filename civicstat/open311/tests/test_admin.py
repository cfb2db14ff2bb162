"""Staff issue Open311 API keys in the admin: the raw key is shown once, on the answer to the form,
and is never put where it outlives that answer (a cookie, the session)."""

from __future__ import annotations

import re

from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpRequest

from civicstat.open311.models import ApiKey
from civicstat.open311.services import api_key_check, key_hash

ADD = "/admin/open311/apikey/add/"
KEYLIKE = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


def issued_in(texts: list[str], key: ApiKey) -> list[str]:
    """The raw forms of `key` found in `texts`."""
    return [raw for text in texts for raw in KEYLIKE.findall(text) if key_hash(raw) == key.key_hash]


def cookie_texts(response) -> list[str]:
    """Every cookie the answer sets, and the messages cookie's messages decoded (it is signed,
    not encrypted: anyone holding it can read them)."""
    texts = []
    for name, morsel in response.cookies.items():
        texts.append(morsel.value)
        if name == "messages":
            holder = HttpRequest()
            holder.COOKIES[name] = morsel.value
            texts.extend(str(message) for message in CookieStorage(holder))
    return texts


def test_a_new_key_is_shown_on_the_answer_and_kept_in_no_cookie_or_session(admin_client, db):
    response = admin_client.post(ADD, {"name": "Partner"})
    key = ApiKey.objects.get(name="Partner")
    assert issued_in(cookie_texts(response), key) == []
    assert issued_in([str(v) for v in admin_client.session.values()], key) == []
    assert response.status_code == 200
    [raw] = set(issued_in([response.content.decode()], key))
    assert raw.startswith(key.prefix) and api_key_check(raw=raw) == key
    # Neither the browser's cache nor a proxy keeps the page.
    assert "no-store" in response["Cache-Control"]


def test_the_key_is_not_shown_again_on_a_reload_or_any_other_page(admin_client, db):
    response = admin_client.post(ADD, {"name": "Partner"})
    key = ApiKey.objects.get(name="Partner")
    [raw] = set(issued_in([response.content.decode()], key))
    for url in [ADD, f"/admin/open311/apikey/{key.pk}/change/", "/admin/open311/apikey/"]:
        again = admin_client.get(url)
        assert again.status_code == 200
        assert raw not in again.content.decode()
        assert issued_in(cookie_texts(again), key) == []


def test_editing_a_key_changes_its_name_and_shows_no_key(admin_client, db):
    admin_client.post(ADD, {"name": "Partner"})
    key = ApiKey.objects.get(name="Partner")
    response = admin_client.post(f"/admin/open311/apikey/{key.pk}/change/", {"name": "FixIt"})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.name == "FixIt"
