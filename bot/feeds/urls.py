"""URL helpers: a canonical form of article links (a dedupe key), an http(s) URL check, and masking of
credentials in feed URLs for display (`mask_url`: logs, `/feeds`, `/stats`, `feeds list`, `feeds export`).

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
- ``http`` vs ``https`` (the link shown keeps the feed's own choice; `dedup_key` folds them for comparing);
- ``www.`` and ``m.`` hosts: detik's ``m.detik.com/news/...`` and ``news.detik.com/...`` differ in
  path as well as host, so stripping ``m.`` would not give the canonical URL and could merge
  unrelated hosts (``m.example.com`` need not be the mobile site of ``example.com``);
- path case and percent-encoding.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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


def dedup_key(url: str, volatile: frozenset[str] = frozenset()) -> str:
    """The key two links of one article share: `normalize_link`, then without the query parameters named
    in `volatile` (lower-case; see `volatile_params`) and with http and https folded together.

    A site that moves to https, or a feed that serves its links over both, must not re-alert everything;
    the stored link keeps its scheme for display (this key only compares). Non-http(s) input is returned
    normalized as `normalize_link` returns it.
    """
    key = normalize_link(url)
    if not key.startswith(("http://", "https://")):
        return key
    if volatile and "?" in key:
        head, _, query = key.partition("?")
        kept = [pair for pair in query.split("&") if unquote_plus(pair.partition("=")[0]).lower() not in volatile]
        key = head + ("?" + "&".join(kept) if kept else "")
    return "http://" + key.removeprefix("https://").removeprefix("http://")


def guid_key(guid: str, volatile: frozenset[str] = frozenset()) -> str:
    """A permalink guid compared the way `dedup_key` compares links, but only scheme-folded and without the
    volatile parameters (no other normalization, so guids stored before stay comparable). Other guids are
    returned unchanged."""
    lowered = guid[:8].lower()
    if not lowered.startswith(("http://", "https://")):
        return guid
    rest = guid[8:] if lowered.startswith("https://") else guid[7:]
    if volatile and "?" in rest:
        head, _, tail = rest.partition("?")
        query, hash_, fragment = tail.partition("#")
        kept = [pair for pair in query.split("&") if unquote_plus(pair.partition("=")[0]).lower() not in volatile]
        rest = head + ("?" + "&".join(kept) if kept else "") + hash_ + fragment
    return "http://" + rest


def volatile_params(links: Sequence[str]) -> frozenset[str]:
    """Query parameters that cannot identify an article: carried by every link of one feed document (two
    or more links) with the same value each time, such as a per-request ``sid=`` that changes between
    fetches. A parameter whose value differs between items (``?id=123``, PHP-Nuke's story ``sid=``) is an
    identifier and is kept.
    """
    web = [link for link in links if link.startswith(("http://", "https://"))]
    if len(web) < 2:
        return frozenset()
    common: dict[str, str] | None = None
    for link in web:
        params: dict[str, str] = {}
        for pair in urlsplit(link).query.split("&"):
            if pair:
                name, _, value = pair.partition("=")
                key = unquote_plus(name).lower()
                params[key] = value if key not in params else "\0" + value  # a repeated name is not "one value"
        common = params if common is None else {k: v for k, v in common.items() if params.get(k) == v}
        if not common:
            return frozenset()
    return frozenset(common or ())


MAX_FEED_URL_LEN: Final = 2048


def feed_url_problem(url: str) -> str | None:
    """Why `url` cannot be a feed to poll, or None: the one check behind `feeds add`, `feeds import` and
    the bundled list, so a URL that one of them refuses is refused by all."""
    if not url:
        return "empty URL"
    if len(url) > MAX_FEED_URL_LEN:
        return f"longer than {MAX_FEED_URL_LEN} characters"
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return "contains spaces or control characters"
    if not is_http_url(url):
        return "not an http(s) URL with a host name"
    import httpx  # the same parser the fetcher uses: what it cannot fetch is refused here

    try:
        host = httpx.URL(url).host
    except (httpx.InvalidURL, UnicodeError) as exc:
        return f"invalid host name ({exc})"
    if not host:
        return "no host name"
    return None


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


# --- masking secrets for display ------------------------------------------------------------------

MASK: Final = "***"
# A query parameter whose name contains one of these is taken to carry a credential (api_key, token,
# access_token, secret, password, sig, auth, session …). Masking a harmless one (author=) costs nothing.
_SECRET_WORDS: Final = ("key", "token", "secret", "pass", "pwd", "auth", "sig", "session", "credential", "apikey")
_SECRET_NAMES: Final = frozenset({"k", "sid", "code", "hash"})
# A URL in prose: up to whitespace or a quote, not counting punctuation that ends the sentence.
_URL_IN_TEXT: Final = re.compile(r"https?://[^\s\"'<>]*[^\s\"'<>.,;:!?)\]]", re.I)


def _secret_param(name: str) -> bool:
    key = unquote_plus(name).lower()
    return key in _SECRET_NAMES or any(word in key for word in _SECRET_WORDS)


def mask_url(url: str) -> str:
    """`url` for display: a password in it, a bare user part (often a token) and the values of key-like
    query parameters replaced by ``***``. Anything else, and an unparsable URL, is returned unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if colon else f"{MASK}@{hostport}"
    query = parts.query
    if query:
        pairs = []
        for pair in query.split("&"):
            name, eq, value = pair.partition("=")
            pairs.append(f"{name}={MASK}" if eq and value and _secret_param(name) else pair)
        query = "&".join(pairs)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def has_secrets(url: str) -> bool:
    """True when `mask_url` would hide something in `url`."""
    return mask_url(url) != url


def mask_urls_in_text(text: str) -> str:
    """Every http(s) URL inside free text (an error message, a log line) passed through `mask_url`."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text)
