"""An httpx transport over an httpcore connection pool with a network backend of our choosing.

httpx has no public option for an httpcore network backend, and the SSRF guard (`guard.GuardedBackend`)
must be the backend: it resolves, vets and connects, then checks the peer of the socket it got. So
`BackendTransport` builds its own `httpcore.AsyncConnectionPool` and speaks httpx's public transport API
(`httpx.AsyncBaseTransport`), the way httpx's own `AsyncHTTPTransport` does, using only public names of
both libraries: an httpx upgrade that renames a private attribute cannot silently drop the guard.

http/1.1 only, no proxies (as the guarded client wants: a proxy would be vetted instead of the feed).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterator
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

    def __init__(self, *, network_backend: httpcore.AsyncNetworkBackend, limits: httpx.Limits) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
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
