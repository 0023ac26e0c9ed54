"""An httpx transport over an httpcore connection pool with a network backend of our choosing.

httpx has no public option for an httpcore network backend, and the SSRF guard (`guard.GuardedBackend`)
must be the backend: it resolves, vets and connects, then checks the peer of the socket it got. So
`BackendTransport` builds its own `httpcore.AsyncConnectionPool` and speaks httpx's public transport API
(`httpx.AsyncBaseTransport`), the way httpx's own `AsyncHTTPTransport` does, using only public names of
both libraries: an httpx upgrade that renames a private attribute cannot silently drop the guard.

http/1.1 only, no proxies (as the guarded client wants: a proxy would be vetted instead of the feed).

`HostPoolTransport` keeps one small such pool per origin. httpcore's pool scans all its connections
for every request it queues or finishes, so one pool big enough to keep every busy host's connections
costs CPU quadratic in its size (measured: a 256-connection pool made a 6,000-feed cycle take 60 s of
CPU instead of 25), while one the size of the overall cap makes hosts evict each other's idle
connections and nearly every poll opens a new one. A pool per host keeps each scan to a few
connections and lets every host reuse its own.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Final

import httpcore
import httpx

# Most specific first: the first match wins. httpcore's tree mirrors httpx's, so the subclasses
# (ConnectTimeout before TimeoutException, ConnectError before NetworkError, ...) must come before
# their bases.
_EXCEPTIONS: Final[tuple[tuple[type[Exception], type[httpx.TransportError]], ...]] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


def translate(error: Exception) -> httpx.TransportError | None:
    """The httpx exception matching an httpcore one, or None when `error` is not httpcore's."""
    for source, target in _EXCEPTIONS:
        if isinstance(error, source):
            return target(str(error))
    return None


@contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as e:
        mapped = translate(e)
        if mapped is None:
            raise
        # Chained, so the cause (e.g. guard.BlockedAddressError, a ConnectionRefusedError) stays visible.
        raise mapped from e


class _ResponseStream(httpx.AsyncByteStream):
    """The body of an httpcore response as an httpx stream; closing it returns the connection to the pool."""

    def __init__(self, response: httpcore.Response) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        stream = self._response.stream
        if not isinstance(stream, AsyncIterable):  # pragma: no cover - an async pool gives async streams
            raise TypeError("httpcore returned a synchronous stream to an async transport")
        with _httpx_errors():
            async for chunk in stream:
                yield chunk

    async def aclose(self) -> None:
        with _httpx_errors():
            await self._response.aclose()


class BackendTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 transport whose every connection is opened by `network_backend` (used for the SSRF guard)."""

    def __init__(
        self,
        *,
        network_backend: httpcore.AsyncNetworkBackend | None,
        limits: httpx.Limits,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """`network_backend` None: httpcore's own. `ssl_context`: shared between pools (building one
        loads the CA bundle, tens of milliseconds)."""
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=network_backend,
        )

    async def __aenter__(self) -> BackendTransport:
        await self._pool.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        with _httpx_errors():
            await self._pool.__aexit__(exc_type, exc_value, traceback)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.AsyncByteStream):
            raise TypeError("BackendTransport needs an async request body (use httpx.AsyncClient)")
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            core_response = await self._pool.handle_async_request(core_request)
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseStream(core_response),
            extensions=core_response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


Origin = tuple[bytes, bytes, int | None]  # scheme, host, port


class _Counted(httpx.AsyncByteStream):
    """A response body that tells its pool's bookkeeping when it is closed."""

    def __init__(self, inner: httpx.AsyncByteStream, done: Callable[[], None]) -> None:
        self._inner = inner
        self._done: Callable[[], None] | None = done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._done is not None:
                done, self._done = self._done, None
                done()


class _HostPool:
    def __init__(self, transport: BackendTransport) -> None:
        self.transport = transport
        self.in_flight = 0
        self.last_used = time.monotonic()


class HostPoolTransport(httpx.AsyncBaseTransport):
    """One `BackendTransport` of `per_host` connections per origin (see the module docstring).

    The caller caps requests in flight (bot/feeds/slots.py); this only decides which connections are
    kept. A host's pool is closed once it has been idle for `keepalive_expiry` (its connections would
    have expired anyway), so hosts polled once an hour hold no sockets in between.
    """

    def __init__(
        self,
        *,
        per_host: int,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
        keepalive_expiry: float = 5.0,
    ) -> None:
        self._limits = httpx.Limits(
            max_connections=per_host, max_keepalive_connections=per_host, keepalive_expiry=keepalive_expiry
        )
        self._backend = network_backend
        self._ssl_context = httpx.create_ssl_context()
        self._pools: dict[Origin, _HostPool] = {}
        self._expiry = keepalive_expiry
        self._next_sweep = time.monotonic() + keepalive_expiry

    @property
    def open_pools(self) -> int:
        return len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._sweep()
        origin: Origin = (request.url.raw_scheme, request.url.raw_host, request.url.port)
        pool = self._pools.get(origin)
        if pool is None:
            pool = self._pools[origin] = _HostPool(
                BackendTransport(network_backend=self._backend, limits=self._limits, ssl_context=self._ssl_context)
            )
        pool.in_flight += 1
        pool.last_used = time.monotonic()

        def done() -> None:
            pool.in_flight -= 1
            pool.last_used = time.monotonic()

        try:
            response = await pool.transport.handle_async_request(request)
        except BaseException:
            done()
            raise
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)  # BackendTransport always returns one
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_Counted(stream, done),
            extensions=response.extensions,
        )

    async def _sweep(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._expiry
        idle = [
            origin
            for origin, pool in self._pools.items()
            if pool.in_flight == 0 and now - pool.last_used > self._expiry
        ]
        for origin in idle:
            await self._pools.pop(origin).transport.aclose()

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.transport.aclose()
