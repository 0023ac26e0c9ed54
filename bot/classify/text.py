"""Tokenising shared by the place, case and sentiment steps.

Text is split into word tokens (camel-case joins such as "KotaTangerang", which some scraped bodies
contain, are split) and re-joined lower-cased with single spaces, so one Aho-Corasick pass finds
phrases on token boundaries and every hit maps back to token indices and the original spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Upper-case runs ("SOLO", "DKI"), capitalised or lower-case words, numbers, other letters.
_TOKEN_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+|[^\W\d_A-Za-z]+")
# Punctuation between two tokens that ends a clause: looking back for context stops there.
_CLAUSE_RE = re.compile(r"[.,;:!?()\[\]\"\u201c\u201d\u2013\u2014|]|\s-\s|\n")
# Abbreviations written with a dot before a name ("Kec. Cileungsi", "Kab. Bogor", "Jl. Slamet Riyadi").
ABBREVIATIONS = frozenset({"kec", "kel", "kab", "kp", "ds", "dsn", "jl", "jln", "gg", "prov"})
_SENTENCE_RE = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)]*\s+|\n+")


@dataclass(slots=True)
class Tokens:
    """Tokens of one text: original spellings, lower-cased forms and clause breaks."""

    text: str
    words: list[str]  # original spelling
    lower: list[str]
    starts: list[int]  # char offset of each token in `text`
    breaks: list[bool]  # True if a clause break precedes token i
    joined: str  # " ".join(lower), with a leading and trailing space
    char_to_token: list[int]  # index into `joined` -> token index

    def token_at(self, char_index: int) -> int:
        return self.char_to_token[char_index]


def tokenize(text: str) -> Tokens:
    words: list[str] = []
    starts: list[int] = []
    breaks: list[bool] = []
    prev_end = 0
    for m in _TOKEN_RE.finditer(text):
        words.append(m.group())
        starts.append(m.start())
        gap = text[prev_end : m.start()]
        brk = not words[:-1] or bool(_CLAUSE_RE.search(gap))
        if brk and gap.strip() == "." and words[-2].lower() in ABBREVIATIONS:
            brk = False  # "Kec. Gunungputri", "Kab. Bogor": the dot ends an abbreviation, not a clause
        breaks.append(brk)
        prev_end = m.end()
    lower = [w.lower() for w in words]
    parts: list[str] = [" "]
    char_to_token: list[int] = [0]
    for i, w in enumerate(lower):
        parts.append(w)
        char_to_token.extend([i] * len(w))
        parts.append(" ")
        char_to_token.append(i + 1)
    return Tokens(text, words, lower, starts, breaks, "".join(parts), char_to_token)


def normalize_phrase(phrase: str) -> str:
    """The form a phrase takes inside `Tokens.joined` (used to build automaton keys)."""
    return " ".join(w.lower() for w in _TOKEN_RE.findall(phrase))


def split_sentences(text: str) -> list[str]:
    return [s for s in (p.strip() for p in _SENTENCE_RE.split(text)) if s]


def fold_name(name: str) -> str:
    """Fold a Kab/Kota name for comparison: case, 'Administrasi'/'Adm.' and non-letters dropped."""
    s = re.sub(r"\b(administrasi|adm)\b\.?", "", name.lower())
    return re.sub(r"[^a-z]", "", s)
