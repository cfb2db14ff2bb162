from __future__ import annotations

import pytest

from civicstat.lib.clientip import client_address, networks_parse

PROXIES = networks_parse(["10.0.0.0/8", "::1"])


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert (
        client_address(remote_addr="203.0.113.9", forwarded_for="198.51.100.1", trusted=())
        == "203.0.113.9"
    )


def test_a_client_that_is_not_a_proxy_cannot_choose_its_address() -> None:
    got = client_address(remote_addr="203.0.113.9", forwarded_for="1.2.3.4", trusted=PROXIES)
    assert got == "203.0.113.9"


def test_behind_a_trusted_proxy_the_client_is_the_right_most_untrusted_entry() -> None:
    # The client wrote "1.2.3.4" itself; the proxy appended the address it really saw.
    got = client_address(
        remote_addr="10.0.0.2", forwarded_for="1.2.3.4, 198.51.100.7", trusted=PROXIES
    )
    assert got == "198.51.100.7"


def test_chained_trusted_proxies_are_skipped() -> None:
    got = client_address(
        remote_addr="10.0.0.2", forwarded_for="198.51.100.7, 10.1.2.3", trusted=PROXIES
    )
    assert got == "198.51.100.7"


def test_a_garbled_entry_stops_at_the_last_trusted_hop() -> None:
    got = client_address(remote_addr="10.0.0.2", forwarded_for="evil, x", trusted=PROXIES)
    assert got == "10.0.0.2"


def test_ports_and_brackets_are_read() -> None:
    assert (
        client_address(remote_addr="::1", forwarded_for="[2001:db8::5]:443", trusted=PROXIES)
        == "2001:db8::5"
    )
    assert (
        client_address(remote_addr="10.0.0.2", forwarded_for="198.51.100.7:5000", trusted=PROXIES)
        == "198.51.100.7"
    )


def test_a_bad_trusted_proxy_entry_is_named() -> None:
    with pytest.raises(ValueError, match="'proxy.example'"):
        networks_parse(["proxy.example"])


def test_a_request_with_no_address_shares_one_bucket() -> None:
    assert client_address(remote_addr="", forwarded_for="1.2.3.4", trusted=PROXIES) == "0.0.0.0"
