"""Plain-text helpers shared by the feed parser and the alert formatter."""

from __future__ import annotations


def shorten(text: str, limit: int) -> str:
    """Whitespace folded, then at most `limit` characters, cut at a word boundary with an ellipsis if cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"
