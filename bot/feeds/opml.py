"""OPML import/export for feed lists, with an optional Pantau ``city`` attribute per feed.

A regional feed can name its default Kab/Kota (a name, alias or Kemendagri code; the caller
resolves it) as ``pantau:city="Kota Surakarta"`` (namespace `PANTAU_NS`; any namespace URI is
accepted on import) or a plain ``city="…"``. A folder outline's city is inherited by the feeds
inside it unless they name their own. Likewise ``pantau:fullText="always"`` (``auto``, ``always`` or
``never``; see bot/feeds/pages.py) says whether the feed's article pages are read; export writes it
when it is not the default ``auto``.

Import rules: every ``outline`` with an ``xmlUrl`` at any depth is a feed; outlines without one
(folders, links) are skipped, not errors; the first occurrence of a URL wins. URLs are returned
stripped but not validated: the caller checks them (`bot.feeds.urls.is_http_url`) so it can name
the bad ones to the user.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from bot.errors import InputError

PANTAU_NS: Final = "https://github.com/pantau/opml"
FULL_TEXT_VALUES: Final = ("auto", "always", "never")
# Characters XML 1.0 cannot carry at all, even escaped.
_INVALID_XML_CHARS: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    title: str | None = None
    city: str | None = None  # default Kab/Kota for a regional feed, as written in the file
    full_text: str | None = None  # "auto", "always" or "never"; None = not given (auto)


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """Feeds listed in an OPML document. Raises `InputError` when it is not well-formed OPML."""
    if not data.strip():
        raise InputError("OPML file is empty")
    if re.search(rb"<!ENTITY", data, re.I):
        raise InputError("OPML with entity declarations is not accepted")
    parser = ET.XMLParser()
    try:
        root = ET.fromstring(data, parser=parser)
    except ET.ParseError as e:
        line, column = e.position
        message = str(e).split(":")[0]
        raise InputError(f"OPML is not valid XML: line {line}, column {column + 1}: {message}") from None
    if _local(root.tag).lower() != "opml":
        raise InputError(f"not an OPML file: the root element is <{_local(root.tag)}>, not <opml>")
    body = next((child for child in root if _local(child.tag).lower() == "body"), None)
    if body is None:
        raise InputError("OPML has no <body>")

    feeds: list[OpmlFeed] = []
    seen: set[str] = set()
    # Depth-first in document order with an explicit stack: a file may nest outlines 100,000 deep,
    # deeper than Python's recursion limit.
    stack: list[tuple[Iterator[ET.Element], str | None, str | None]] = [(iter(body), None, None)]
    while stack:
        children, inherited_city, inherited_full_text = stack[-1]
        outline = next(children, None)
        if outline is None:
            stack.pop()
            continue
        if _local(outline.tag).lower() != "outline":
            continue
        attrs = {_local(k).lower(): v for k, v in outline.attrib.items()}
        city = (attrs.get("city") or "").strip() or inherited_city
        full_text = (attrs.get("fulltext") or "").strip().lower() or inherited_full_text
        url = (attrs.get("xmlurl") or "").strip()
        if full_text is not None and full_text not in FULL_TEXT_VALUES:
            where = url or (attrs.get("text") or "").strip() or "an outline"
            raise InputError(f"OPML fullText must be auto, always or never, got {full_text[:40]!r} (at {where[:200]})")
        if url and url not in seen:
            seen.add(url)
            title = (attrs.get("title") or attrs.get("text") or "").strip() or None
            feeds.append(OpmlFeed(url=url, title=title, city=city, full_text=full_text))
        stack.append((iter(outline), city, full_text))
    return feeds


def export_opml(feeds: Iterable[OpmlFeed], title: str) -> str:
    """An OPML 2.0 document listing `feeds` (city written as ``pantau:city``)."""
    ET.register_namespace("pantau", PANTAU_NS)
    root = ET.Element("opml", {"version": "2.0"})
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _clean(title)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        text = _clean(feed.title or feed.url)
        attrs = {"type": "rss", "text": text}
        if feed.title:
            attrs["title"] = text
        attrs["xmlUrl"] = _clean(feed.url)
        if feed.city:
            attrs[f"{{{PANTAU_NS}}}city"] = _clean(feed.city)
        if feed.full_text and feed.full_text != "auto":
            attrs[f"{{{PANTAU_NS}}}fullText"] = feed.full_text
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _clean(text: str) -> str:
    return _INVALID_XML_CHARS.sub("", text)
