"""Parse, validate and format comm addresses such as ``tcp://127.0.0.1:8786``.

An address names a transport (``tcp`` or ``tls``), a host (IPv4, bracketed IPv6 or a DNS
name) and a port (``0`` asks the OS for any free port when listening)::

    >>> parse_address("tls://[::1]:8786")
    Address(scheme='tls', host='::1', port=8786)
    >>> unparse_address("tcp", "::1", 0)
    'tcp://[::1]:0'
"""
from __future__ import annotations

import functools
import ipaddress
import re
import socket
from typing import NamedTuple

__all__ = [
    "SCHEMES",
    "Address",
    "parse_address",
    "unparse_address",
    "normalize_address",
    "is_loopback_host",
]

#: Transports this package can listen on and connect to.
SCHEMES = ("tcp", "tls")

# RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
                       r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")


class Address(NamedTuple):
    """A parsed address; ``host`` holds IPv6 literals without brackets."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        return unparse_address(self.scheme, self.host, self.port)


def _bad(address: object, why: str) -> ValueError:
    return ValueError(f"invalid address {address!r}: {why} "
                      f"(expected 'tcp://host:port' or 'tls://host:port')")


def parse_address(address: str) -> Address:
    """Split ``scheme://host:port`` into its parts, validating each.

    A bare ``host:port`` means ``tcp://host:port``. IPv6 hosts must be bracketed.

    Parameters
    ----------
    address : str
        For example ``"tcp://10.0.0.5:8786"``, ``"tls://[::1]:0"``, ``"tcp://localhost:9000"``.

    Returns
    -------
    Address
        ``(scheme, host, port)`` with the IPv6 brackets removed.

    Raises
    ------
    ValueError
        Naming the address and what is wrong with it.

    Examples
    --------
    >>> parse_address("tcp://127.0.0.1:0")
    Address(scheme='tcp', host='127.0.0.1', port=0)
    """
    if not isinstance(address, str):
        raise _bad(address, f"an address is a string, not {type(address).__name__}")
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme not in SCHEMES:
        raise _bad(address, f"unsupported scheme {scheme!r}; supported: {', '.join(SCHEMES)}")
    if not rest:
        raise _bad(address, "no host and port")
    if "/" in rest or "?" in rest or "#" in rest:
        raise _bad(address, "an address has no path, query or fragment")

    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            raise _bad(address, "unclosed '[' around an IPv6 host")
        host, after = rest[1:end], rest[end + 1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise _bad(address, f"{host!r} between brackets is not an IPv6 address") from None
        if not after.startswith(":"):
            raise _bad(address, "no ':port' after the IPv6 host")
        port_text = after[1:]
    else:
        if rest.count(":") > 1:
            raise _bad(address, "IPv6 hosts must be written in brackets, e.g. tcp://[::1]:8786")
        host, sep, port_text = rest.partition(":")
        if not sep:
            raise _bad(address, "no port (use port 0 to listen on any free port)")
        if not host:
            raise _bad(address, "empty host")
        if not _is_ipv4(host) and not _HOSTNAME.match(host):
            raise _bad(address, f"{host!r} is neither an IPv4 address nor a host name")
    if not port_text.isdigit() or not port_text.isascii():
        raise _bad(address, f"port {port_text!r} is not a number")
    port = int(port_text)
    if port > 65535:
        raise _bad(address, f"port {port} is out of range 0-65535")
    return Address(scheme, host, port)


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def unparse_address(scheme: str, host: str, port: int) -> str:
    """Format an address; IPv6 hosts get their brackets back.

    Examples
    --------
    >>> unparse_address("tcp", "127.0.0.1", 8786)
    'tcp://127.0.0.1:8786'
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unsupported scheme {scheme!r}; supported: {', '.join(SCHEMES)}")
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{int(port)}"


@functools.lru_cache(maxsize=4096)  # called on every pooled RPC: parse once per address
def normalize_address(address: str) -> str:
    """The canonical spelling of ``address`` (explicit scheme, compressed IPv6).

    Examples
    --------
    >>> normalize_address("[0:0::1]:80")
    'tcp://[::1]:80'
    """
    scheme, host, port = parse_address(address)
    if ":" in host:
        host = ipaddress.IPv6Address(host).compressed
    return unparse_address(scheme, host.lower(), port)


def is_loopback_host(host: str) -> bool:
    """True when ``host`` only reaches this machine (so exposure warnings do not apply).

    ``""``, ``0.0.0.0`` and ``::`` mean *every* interface and are not loopback. Host names
    are resolved; a name is loopback only if every address it resolves to is.
    """
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if not host:
        return False
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)
