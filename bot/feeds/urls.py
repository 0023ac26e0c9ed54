"""URL helpers: a canonical form of article links (a dedupe key) and an http(s) URL check.

`normalize_link` is meant for comparing and deduplicating links, not for display: keep the
original link for the message and store the normalized one next to it.

What it changes:
- scheme and host are lowercased, a trailing dot on the host and default ports (80/443) are dropped;
- the fragment is dropped;
- tracking parameters are dropped (``utm_*``, ``pk_*``, ``mtm_*``, ``fbclid``, ``gclid`` and the
  others in `TRACKING_PARAMS`), the remaining ones are sorted (their encoding is kept as is);
- AMP variants become the canonical page: an ``amp`` path segment (``/amp/2025/...``, ``.../amp``),
  ``?amp=1``/``?amp``/``?outputType=amp``, and an ``amp.`` host prefix;
- a trailing slash is dropped, except for the root path, which is always ``/``.

What it leaves alone on purpose:
- ``http`` vs ``https`` (a site may serve different things; the feed's own choice wins);
- ``www.`` and ``m.`` hosts: detik's ``m.detik.com/news/...`` and ``news.detik.com/...`` differ in
  path as well as host, so stripping ``m.`` would not give the canonical URL and could merge
  unrelated hosts (``m.example.com`` need not be the mobile site of ``example.com``);
- path case and percent-encoding.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

HTTP_SCHEMES: Final = frozenset({"http", "https"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}

TRACKING_PARAMS: Final = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ocid",
        "cmpid",
        "ref_src",
        "ref_url",
        "tag_from",  # detik.com's internal click tracking
        "spm",
    }
)
TRACKING_PREFIXES: Final = ("utm_", "pk_", "mtm_", "hsa_")
# Query parameters that only select the AMP rendering of the same article.
_AMP_PARAMS: Final = {"amp": {"", "1", "true", "yes"}, "outputtype": {"amp"}}


def is_http_url(url: str) -> bool:
    """Return True for an absolute http(s) URL with a host and a valid port, and no whitespace."""
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        return False
    del port
    return parts.scheme.lower() in HTTP_SCHEMES and bool(parts.hostname)


def normalize_link(url: str) -> str:
    """Return the canonical form of an article link (see the module docstring for the rules).

    Non-http(s) or unparsable input is returned stripped but otherwise unchanged.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in HTTP_SCHEMES or not parts.hostname:
        return url
    netloc = _normalize_netloc(parts, scheme, port)
    path = _normalize_path(parts.path)
    query = _normalize_query(parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


def _normalize_netloc(parts: SplitResult, scheme: str, port: int | None) -> str:
    host = (parts.hostname or "").rstrip(".")
    if host.startswith("amp.") and host.count(".") >= 2:
        host = host[len("amp.") :]
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    userinfo = ""
    if parts.username is not None:
        userinfo = parts.username
        if parts.password is not None:
            userinfo += f":{parts.password}"
        userinfo += "@"
    port_part = f":{port}" if port is not None and port != _DEFAULT_PORTS[scheme] else ""
    return f"{userinfo}{host}{port_part}"


def _normalize_path(path: str) -> str:
    segments = [seg for seg in path.split("/") if seg.lower() != "amp"]
    path = "/".join(segments).rstrip("/")
    if not path.startswith("/"):
        path = "/" + path
    return path


def _normalize_query(query: str) -> str:
    kept: list[str] = []
    for pair in query.split("&"):
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition("=")
        key = unquote_plus(raw_key).lower()
        if key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES):
            continue
        if key in _AMP_PARAMS and unquote_plus(raw_value).lower() in _AMP_PARAMS[key]:
            continue
        kept.append(pair)
    return "&".join(sorted(kept))
