"""Plain-text helpers shared by the feed parser and the alert formatter."""

from __future__ import annotations

import ftfy


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


def repair_text(text: str) -> str:
    """Undo double-encoded UTF-8 ("Lâ€™Oreal" → "L’Oreal", a stray "Â" before a space) with ftfy.

    Curly quotes stay curly: they are the publisher's, not an encoding error.
    """
    if text.isascii():  # nothing to repair, and most feed text is plain ASCII
        return text
    return ftfy.fix_text(text, uncurl_quotes=False)
