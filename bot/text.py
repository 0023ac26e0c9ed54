"""Plain-text helpers shared by the feed parser and the alert formatter."""

from __future__ import annotations

from typing import Final

# Characters feed text must never carry to a terminal or a chat: C0/C1 controls and DEL (an ESC starts
# terminal escape sequences, NUL truncates C strings) and the Unicode bidi controls that reorder what a
# reader sees (U+202E makes "gpj.exe" read "exe.jpg"). Line and paragraph separators become spaces.
_SPACE_LIKE: Final = {0x85: " ", 0x2028: " ", 0x2029: " ", 0x09: " ", 0x0A: " ", 0x0D: " "}
_UNSAFE: Final = dict.fromkeys(
    [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), 0xFEFF]
    + list(range(0x2066, 0x206A))
)
_UNSAFE_TABLE: Final = {**_UNSAFE, **_SPACE_LIKE}


def strip_unsafe(text: str) -> str:
    """`text` without control or bidi-override characters; tabs, newlines and line separators become spaces.

    Whitespace is kept (as a space) so that words around it stay apart; callers fold it as they need.
    """
    return text.translate(_UNSAFE_TABLE)


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
    import ftfy  # imported on first use: the feed parser's worker processes never need it (~9 MB each)

    return ftfy.fix_text(text, uncurl_quotes=False)
