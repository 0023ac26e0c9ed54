"""SSRF guard for feeds added from Telegram: only public internet addresses may be fetched.

Checking a URL's host once when it is added is not enough: DNS can change between the check and the
fetch (rebinding), and a public feed can redirect to ``http://127.0.0.1/``. So the check sits where the
connection is made: `GuardedBackend` is an httpcore network backend that resolves the host itself,
refuses when any resolved address is not public, connects to a vetted address (TLS still verifies the
host name, which httpcore passes separately) and finally checks the peer address of the socket it got.
Every hop of every fetch opens its connection through it, so redirects are covered too.

Feeds added on the command line are trusted and fetched without it (an operator may poll an intranet).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore

# (host, port) → the addresses it resolves to, as strings. Injected in tests; DNS otherwise.
Resolver = Callable[[str, int], Awaitable[list[str]]]

_ALLOWED_SCHEMES = ("http", "https")


class BlockedAddressError(httpcore.ConnectError):
    """The host resolves to (or the connection reached) a loopback/private/reserved address."""


def is_public_address(address: str) -> bool:
    """True only for a globally routable unicast address (IPv4-in-IPv6 forms are unwrapped)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id ("fe80::1%eth0")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d
            return is_public_address(str(ip.ipv4_mapped))
        embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
    return bool(ip.is_global) and not (
        ip.is_multicast or ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_unspecified
    )


def check_url(url: str) -> str | None:
    """Why a Telegram-added feed URL is refused before any network access (scheme, literal address), or None."""
    import httpx

    try:
        parsed = httpx.URL(url)
        host = parsed.host
    except (httpx.InvalidURL, TypeError):
        return "alamat tidak valid"
    except UnicodeError:  # idna.IDNAError: an xn-- label that is not valid punycode, a bad character, …
        return "nama host tidak valid (IDNA)"
    if parsed.scheme not in _ALLOWED_SCHEMES:
        return "hanya alamat http:// atau https://"
    if not host:
        return "alamat tanpa nama host"
    if parsed.userinfo:
        return "alamat dengan nama pengguna/sandi tidak diterima"
    if host.casefold() == "localhost" or host.casefold().endswith((".localhost", ".local", ".internal")):
        return "alamat lokal tidak diizinkan"
    if _is_ip_literal(host) and not is_public_address(host):
        return "alamat IP lokal/privat tidak diizinkan"
    return None


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


# Special-use names (RFC 2606, RFC 6761): no feed or article page lives under them, and looking one up
# would only send a query to the resolver — from a test's made-up links, or a feed's placeholder ones.
_RESERVED_SUFFIXES = (".test", ".example", ".invalid", ".example.com", ".example.net", ".example.org")


def is_reserved_name(host: str) -> bool:
    """True for a special-use name that must not be looked up (`warta.example`, `x.invalid`, `example.org`)."""
    name = "." + host.casefold().rstrip(".")
    return name.endswith(_RESERVED_SUFFIXES) or name in (".example.com", ".example.net", ".example.org")


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host (A and AAAA); none for a special-use name."""
    if is_reserved_name(host):
        raise socket.gaierror(socket.EAI_NONAME, f"{host} is a special-use name (RFC 6761), not looked up")
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore backend that connects only to public addresses (see the module docstring)."""

    def __init__(
        self, *, resolver: Resolver = system_resolver, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._resolver = resolver
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def resolve_public(self, host: str, port: int) -> list[str]:
        """The host's addresses, all of them public; BlockedAddressError when any is not."""
        if _is_ip_literal(host):
            addresses = [host]
        else:
            try:
                addresses = await self._resolver(host, port)
            except OSError as e:  # socket.gaierror: the fetcher reports it as a DNS failure
                raise httpcore.ConnectError(f"DNS lookup failed for {host}") from e
            if not addresses:
                raise httpcore.ConnectError(f"DNS lookup failed for {host}")
        blocked = [a for a in addresses if not is_public_address(a)]
        if blocked:
            # One private answer among public ones is refused too: which one is used is not ours to pick.
            raise BlockedAddressError(f"refused: {host} resolves to non-public address {blocked[0]}")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.resolve_public(host, port)
        error: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                error = e
                continue
            peer = stream.get_extra_info("server_addr")
            if not peer or not is_public_address(str(peer[0])):
                await stream.aclose()
                raise BlockedAddressError(f"refused: connection to {host} reached non-public address {peer}")
            return stream
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError("refused: unix sockets are not public addresses")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class ReservedNamesBackend(httpcore.AsyncNetworkBackend):
    """httpcore's own backend, but a special-use name fails as an unknown name without a DNS query
    (the trusted client's backend; the guarded one resolves through `system_resolver`, which does the same)."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if is_reserved_name(host):
            raise httpcore.ConnectError(f"DNS lookup failed for {host} (a special-use name, not looked up)")
        return await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
