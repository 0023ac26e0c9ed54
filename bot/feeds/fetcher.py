"""Fetch feed documents over HTTP: conditional GET, redirects, size cap, concurrency caps.

One `Fetcher` owns one `httpx.AsyncClient`; open it once for the life of the app::

    async with Fetcher() as fetcher:
        result = await fetcher.fetch(url, etag=feed.etag, last_modified=feed.last_modified)

Every failure leaves as `FetchError` with a short message fit for a feed's ``last_error``.

Design notes:
- Redirects are followed here rather than by httpx so that every hop is checked (http/https only,
  loops, a hop limit), each hop takes the concurrency slot of *its* host, and a permanent move
  (301/308 from the URL we were given) is reported so the caller can store the new URL.
- The body is decoded (gzip/deflate) by our own zlib loop with ``max_length``, so the size cap
  applies to decoded bytes and a gzip bomb is cut off without ever inflating past the cap.
- httpx's read timeout is per socket read, so a server trickling a byte every few seconds would
  never trip it; `total_timeout` bounds each request (one hop) as a whole. Time spent waiting for
  a concurrency slot does not count.
"""

from __future__ import annotations

import asyncio
import socket
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Final

import httpcore
import httpx

from bot.errors import FetchError
from bot.feeds.guard import BlockedAddressError, GuardedBackend, ReservedNamesBackend, Resolver, system_resolver
from bot.feeds.slots import PrioritySlots
from bot.feeds.transport import HostPoolTransport

USER_AGENT: Final = "Pantau/0.1 (+https://github.com/pantau; news monitoring bot)"
ACCEPT: Final = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
DEFAULT_MAX_BYTES: Final = 5 * 1024 * 1024
_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_PERMANENT_STATUSES: Final = frozenset({301, 308})
_RETRY_AFTER_STATUSES: Final = frozenset({429, 503})
_MAX_MESSAGE: Final = 200


@dataclass(frozen=True, slots=True)
class Fetched:
    """A 2xx response with its (decoded) body and the caching headers to store."""

    body: bytes
    final_url: str
    permanent_redirect_url: str | None  # set when 301/308 moved the feed: store this URL instead
    etag: str | None
    last_modified: str | None
    content_type: str | None
    cache_seconds: float | None  # from Cache-Control max-age or Expires − Date; 0 = "don't cache"
    elapsed: float = 0.0  # seconds from the first request to the whole body, all hops (slot waits excluded)


@dataclass(frozen=True, slots=True)
class NotModified:
    """A 304: nothing changed since the ETag / Last-Modified we sent."""

    final_url: str
    permanent_redirect_url: str | None
    etag: str | None  # a 304 may carry a refreshed validator; None when it did not
    last_modified: str | None
    cache_seconds: float | None
    elapsed: float = 0.0  # as Fetched.elapsed


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Fetcher:
    """Async HTTP fetcher for feeds; use as ``async with Fetcher(...) as fetcher``."""

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 20.0,
        total_timeout: float = 60.0,
        max_concurrency: int = 64,
        max_per_host: int = 4,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = 5,
        user_agent: str = USER_AGENT,
        transport: httpx.AsyncBaseTransport | None = None,
        now: Callable[[], datetime] = _utcnow,
        resolver: Resolver = system_resolver,
        guarded_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.max_per_host = max_per_host
        self._now = now
        self._global_slots = PrioritySlots(max_concurrency)
        self._host_slots: dict[str, PrioritySlots] = {}
        client_options: dict[str, Any] = {
            "headers": {"User-Agent": user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"},
            "timeout": httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout),
            "follow_redirects": False,
        }
        # Feeds cluster on few hosts, and closing and reopening connections between requests costs more
        # CPU than the requests themselves: each host keeps its own few connections (the slots above cap
        # requests in flight, overall and per host; bot/feeds/transport.py says why one pool per host).
        self._client = httpx.AsyncClient(
            transport=transport or HostPoolTransport(per_host=max_per_host, network_backend=ReservedNamesBackend()),
            **client_options,
        )
        # Feeds added from Telegram go through a second client whose every connection (each redirect hop
        # too) is made by GuardedBackend: public addresses only, through our own transport (httpx has no
        # public option for a network backend). No proxy from the environment: the guard would vet the
        # proxy's address instead of the feed's.
        self._public_client = httpx.AsyncClient(
            transport=HostPoolTransport(
                per_host=max_per_host, network_backend=GuardedBackend(resolver=resolver, inner=guarded_backend)
            ),
            trust_env=False,
            **client_options,
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()
        await self._public_client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        public_only: bool = False,
        accept: str | None = None,
        urgent: bool = False,
    ) -> Fetched | NotModified:
        """GET `url` conditionally; return the body, or `NotModified` on 304. Raises `FetchError`.

        `public_only` (feeds added from Telegram): every hop may only connect to public addresses.
        `accept` replaces the feed Accept header (article pages ask for HTML, bot/feeds/pages.py).
        `urgent` (an article page an alert waits for): the next free slot is ours, ahead of queued feeds.
        """
        client = self._public_client if public_only else self._client
        headers: dict[str, str] = {}
        if accept:
            headers["Accept"] = accept
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified

        current = url
        seen = {url}
        permanent: str | None = None
        still_permanent = True  # only a chain of 301/308 from the start moves the feed
        # One deadline for the whole poll, every redirect hop included (a trickling chain of hops must not
        # get total_timeout each); it starts with the first request, not while queued for a slot.
        deadline: float | None = None
        started = 0.0
        loop = asyncio.get_running_loop()
        for _hop in range(self.max_redirects + 1):
            target = _checked_url(current)
            async with self._slot(target.host, urgent=urgent):
                if deadline is None:
                    started = loop.time()
                    deadline = started + self.total_timeout
                try:
                    async with asyncio.timeout_at(deadline):
                        outcome = await self._request(client, target, headers)
                except TimeoutError:
                    raise FetchError(f"timeout after {self.total_timeout:g} s") from None
            if isinstance(outcome, _Redirect):
                nxt = str(target.join(outcome.location))
                if nxt in seen:
                    raise FetchError("redirect loop")
                seen.add(nxt)
                if still_permanent and outcome.status in _PERMANENT_STATUSES:
                    permanent = nxt
                else:
                    still_permanent = False
                current = nxt
                continue
            status, response_headers, body = outcome
            cache = cache_seconds(response_headers, now=self._now())
            if status == 304:
                return NotModified(
                    final_url=current,
                    permanent_redirect_url=permanent,
                    etag=response_headers.get("etag"),
                    last_modified=response_headers.get("last-modified"),
                    cache_seconds=cache,
                    elapsed=loop.time() - started,
                )
            return Fetched(
                body=body,
                final_url=current,
                permanent_redirect_url=permanent,
                etag=response_headers.get("etag"),
                last_modified=response_headers.get("last-modified"),
                content_type=response_headers.get("content-type"),
                cache_seconds=cache,
                elapsed=loop.time() - started,
            )
        raise FetchError(f"too many redirects (more than {self.max_redirects})")

    @asynccontextmanager
    async def _slot(self, host: str, *, urgent: bool = False) -> AsyncIterator[None]:
        # Host first, then global: a queue for one busy host must not sit on global slots.
        host_slot = self._host_slots.get(host)
        if host_slot is None:
            host_slot = self._host_slots[host] = PrioritySlots(self.max_per_host)
        async with host_slot.hold(urgent=urgent), self._global_slots.hold(urgent=urgent):
            yield

    async def _request(
        self, client: httpx.AsyncClient, url: httpx.URL, headers: dict[str, str]
    ) -> _Redirect | tuple[int, httpx.Headers, bytes]:
        try:
            request = client.build_request("GET", url, headers=headers)
            response = await client.send(request, stream=True)
            try:
                return await self._handle(response)
            finally:
                await response.aclose()
        except httpx.HTTPError as e:
            raise FetchError(self._describe(e)) from e

    async def _handle(self, response: httpx.Response) -> _Redirect | tuple[int, httpx.Headers, bytes]:
        status = response.status_code
        if not 200 <= status < 300:
            # A 304, a redirect or an error has no body we use; read what little there is, so that the
            # connection goes back to the pool instead of being closed with the response. Most polls of
            # a steady cycle are 304s: without this, each one opened a new connection.
            await _discard_small_body(response)
        if status in _REDIRECT_STATUSES:
            location = response.headers.get("location")
            if not location:
                raise FetchError(f"HTTP {status} without Location")
            return _Redirect(status, location)
        if status == 304:
            return status, response.headers, b""
        if status >= 400:
            retry_after = None
            if status in _RETRY_AFTER_STATUSES:
                retry_after = parse_retry_after(response.headers.get("retry-after"), now=self._now())
            raise FetchError(f"HTTP {status}", retry_after=retry_after)
        if not 200 <= status < 300:
            raise FetchError(f"HTTP {status}")
        body = await self._read_body(response)
        return status, response.headers, body

    async def _read_body(self, response: httpx.Response) -> bytes:
        too_large = f"response larger than {_size(self.max_bytes)}"
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise FetchError(too_large)
        decoder = _decoder(response.headers.get("content-encoding", ""))
        out = bytearray()
        try:
            async for raw in response.aiter_raw():
                if decoder is None:
                    out += raw
                else:
                    out += decoder.decompress(raw, self.max_bytes + 1 - len(out))
                    while decoder.unconsumed_tail and len(out) <= self.max_bytes:
                        out += decoder.decompress(decoder.unconsumed_tail, self.max_bytes + 1 - len(out))
                if len(out) > self.max_bytes:
                    raise FetchError(too_large)
            if decoder is not None:
                out += decoder.flush()
        except zlib.error as e:
            raise FetchError("could not decode compressed response") from e
        if len(out) > self.max_bytes:
            raise FetchError(too_large)
        return bytes(out)

    def _describe(self, error: httpx.HTTPError) -> str:
        if isinstance(error, httpx.ConnectTimeout):
            return f"connect timeout after {self.connect_timeout:g} s"
        if isinstance(error, httpx.ReadTimeout):
            return f"timeout after {self.read_timeout:g} s"
        if isinstance(error, httpx.TimeoutException):
            return "timeout"
        text = str(error) or type(error).__name__
        lowered = text.lower()
        if isinstance(error, httpx.ConnectError):
            causes = _causes(error)
            blocked = next((c for c in causes if isinstance(c, BlockedAddressError)), None)
            if blocked is not None:
                return _short(str(blocked))
            if any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in lowered:
                return "connection refused"
            if any(isinstance(c, socket.gaierror) for c in causes) or any(
                s in lowered for s in ("name or service", "nodename nor servname", "getaddrinfo", "name resolution")
            ):
                return "DNS lookup failed"
            if "certificate" in lowered:
                return "TLS certificate verification failed"
            return _short(f"connection failed: {text}")
        if isinstance(error, httpx.RemoteProtocolError):
            return _short(f"protocol error: {text}")
        if isinstance(error, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return _short(f"invalid URL: {text}")
        return _short(f"network error: {text}")


def _causes(error: BaseException) -> list[BaseException]:
    """The exception and everything it was raised from (httpx wraps the OSError we care about)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


@dataclass(frozen=True, slots=True)
class _Redirect:
    status: int
    location: str


def _checked_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
        host = parsed.host  # decoding an xn-- label can raise too (idna.IDNAError is a UnicodeError)
    except (httpx.InvalidURL, TypeError, UnicodeError) as e:
        raise FetchError(_short(f"invalid URL: {e}")) from e
    if parsed.scheme not in ("http", "https"):
        raise FetchError(f"unsupported URL scheme {parsed.scheme!r} (only http and https)")
    if not host:
        raise FetchError("invalid URL: no host")
    return parsed


def _decoder(content_encoding: str) -> zlib._Decompress | None:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib or gzip header, auto-detected
    raise FetchError(_short(f"unsupported Content-Encoding {encoding!r}"))


def _size(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MB"
    if n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n} bytes"


def _short(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    when = _http_date(value)
    if when is None:
        return None
    return max(0.0, (when - now).total_seconds())


def cache_seconds(headers: httpx.Headers, *, now: datetime) -> float | None:
    """Freshness lifetime in seconds: Cache-Control max-age, else Expires − Date; None if neither.

    ``no-cache``/``no-store`` and an unparsable Expires (RFC 9111: "already expired") give 0.
    """
    control = headers.get("cache-control")
    if control:
        max_age: float | None = None
        for directive in control.split(","):
            name, _, arg = directive.strip().partition("=")
            name = name.strip().lower()
            if name in ("no-cache", "no-store"):
                return 0.0
            if name == "max-age":
                try:
                    max_age = max(0.0, float(arg.strip().strip('"')))
                except ValueError:
                    max_age = 0.0
        if max_age is not None:
            return max_age
    expires = headers.get("expires")
    if expires is None:
        return None
    expires_at = _http_date(expires)
    if expires_at is None:
        return 0.0
    date = headers.get("date")
    base = (_http_date(date) if date else None) or now
    return max(0.0, (expires_at - base).total_seconds())


# An unused body longer than this is not worth reading to keep its connection: the connection is closed.
_DISCARD_LIMIT = 64 * 1024


async def _discard_small_body(response: httpx.Response) -> None:
    """Read and drop a body we do not use, up to `_DISCARD_LIMIT` bytes; past it, stop (the connection
    is then closed with the response, which is cheaper than reading on)."""
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > _DISCARD_LIMIT:
        return
    seen = 0
    try:
        async for raw in response.aiter_raw():
            seen += len(raw)
            if seen > _DISCARD_LIMIT:
                return
    except httpx.HTTPError:
        return  # the status is what counts; a broken unused body only costs its connection
