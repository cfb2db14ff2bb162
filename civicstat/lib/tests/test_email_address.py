from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicstat.lib.email_address import email_key, email_normalize, email_rate_key

SPELLINGS = ["bob@x.org", "Bob@X.org", " BOB@X.ORG ", "\tbob@x.ORG\n", '"bob"@x.org',
             '"b\\ob"@X.org']  # fmt: skip


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_of_one_mailbox_has_one_key(spelling: str) -> None:
    assert email_key(spelling) == "bob@x.org"


def test_delivery_keeps_the_local_part_as_typed_and_lowers_the_domain() -> None:
    assert email_normalize("  Bob.Smith@Example.ORG ") == "Bob.Smith@example.org"


def test_an_international_domain_is_delivered_to_and_keyed_in_idna() -> None:
    assert email_normalize("Bob@BÜCHER.de") == "Bob@xn--bcher-kva.de"
    assert email_key("bob@bücher.de") == email_key("BOB@xn--BCHER-kva.DE") == "bob@xn--bcher-kva.de"


def test_an_address_literal_is_kept_for_delivery() -> None:
    assert email_normalize("bob@[IPv6:2001:DB8::1]") == "bob@[IPv6:2001:DB8::1]"
    assert email_key("bob@[IPv6:2001:DB8::1]") == "bob@[ipv6:2001:db8::1]"


def test_what_is_not_an_address_still_has_a_key() -> None:
    assert email_key(" Not An Address ") == "not an address"
    assert email_key("bob@x..org") == "bob@x..org"


def test_the_rate_key_counts_tags_as_the_mailbox() -> None:
    assert email_rate_key("Bob+1@X.org") == email_rate_key("bob+two@x.org") == "bob@x.org"
    assert email_key("bob+alerts@x.org") == "bob+alerts@x.org"
    assert email_rate_key("+tag@x.org") == "+tag@x.org"


local_parts = st.from_regex(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,20}", fullmatch=True)
domains = st.from_regex(r"[A-Za-z0-9]{1,10}(\.[A-Za-z]{2,5}){1,2}", fullmatch=True)
padding = st.sampled_from(["", " ", "\t", "  \n"])


@given(local_parts, domains, padding, padding)
def test_case_and_padding_never_make_another_key(local: str, domain: str, left: str,
                                                 right: str) -> None:  # fmt: skip
    key = email_key(f"{local}@{domain}")
    assert email_key(f"{left}{local.swapcase()}@{domain.upper()}{right}") == key
    assert email_key(email_normalize(f"{left}{local}@{domain}{right}")) == key
    assert email_normalize(email_normalize(f"{local}@{domain}")) == email_normalize(
        f"{local}@{domain}"
    )
