"""The address of the client behind a request, as rate limits and throttles must count it.

Behind a reverse proxy every request arrives from the proxy's address, so counting `REMOTE_ADDR`
puts every resident in one bucket. `X-Forwarded-For` names the client, but anyone can send that
header: it is believed only when the request came from a proxy named in `TRUSTED_PROXIES`, and
then read from the right, skipping the trusted proxies' own entries, so that a value the client
wrote at the left cannot choose its own bucket.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "0.0.0.0"  # noqa: S104 (not a bind address: the bucket of clients with no address)


def networks_parse(values: Iterable[str]) -> tuple[Network, ...]:
    """`TRUSTED_PROXIES` entries (addresses or CIDR ranges) as networks; a bad entry raises
    ValueError naming it."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"{value!r} is not an IP address or a CIDR range such as 10.0.0.0/8"
            ) from None
    return tuple(networks)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.9:51000"
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def client_address(*, remote_addr: str, forwarded_for: str, trusted: Sequence[Network]) -> str:
    """The client's address: `remote_addr`, unless that is a trusted proxy, in which case the
    right-most `forwarded_for` entry that is not itself a trusted proxy. An entry that is not an
    address stops the walk at the last trusted hop (it cannot be told from a forgery)."""
    remote = _address(remote_addr)
    if remote is None:  # a Unix socket has no address: one shared bucket, never a crash
        return UNKNOWN
    if not trusted or not any(remote in net for net in trusted):
        return str(remote)
    client = remote
    for entry in reversed(forwarded_for.split(",")):
        hop = _address(entry)
        if hop is None:
            break
        client = hop
        if not any(hop in net for net in trusted):
            break
    return str(client)
