"""The alert's button row and the correction keyboards, their callback data, and what a press means.

Callback data (Telegram allows 64 bytes; the longest here is 37):

- on an alert: ``fb:<article id>:k`` (✏️ Koreksi) and ``fb:<article id>:m`` (🔇 Bisukan sumber);
- inside a correction: ``cr:<token>:<op>[:<arg>]``, where the token names the draft stored in the
  database (storage.button_state) and <op> is one of `OPS`.

Everything a press carries is checked here against a closed grammar and the taxonomy: a forged press can
name no unknown case key, no place outside the gazetteer, no sentiment but the three. Which article and
chat a draft belongs to comes from the stored draft, never from the press.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from bot import classify
from bot.errors import InputError
from bot.models import Article, LabelCorrection, Place, Sentiment
from bot.subscriptions.query import parse_query, suggest

Button = tuple[str, str]  # (label, callback data)
Keyboard = tuple[tuple[Button, ...], ...]

ALERT_DATA_RE = re.compile(r"^fb:([0-9]{1,12}):([km])$")
ALERT_DATA_PATTERN = ALERT_DATA_RE.pattern
OPS = ("city", "cases", "sent", "irr", "x", "back", "type", "save", "c", "t", "s")
CORRECTION_DATA_RE = re.compile(
    r"^cr:([A-Za-z0-9_-]{8}):(" + "|".join(OPS) + r")(?::([a-z_]{1,20}|[0-9]{2}\.[0-9]{2}|-))?$"
)
CORRECTION_DATA_PATTERN = CORRECTION_DATA_RE.pattern
MAX_CITY_CHOICES = 6
MAX_TYPED = 60  # characters of a typed place name; no name is longer

SENTIMENT_CODES: dict[str, Sentiment] = {"neg": Sentiment.NEGATIVE, "net": Sentiment.NEUTRAL, "pos": Sentiment.POSITIVE}
SENTIMENT_LABELS: dict[Sentiment, str] = {
    Sentiment.NEGATIVE: "Negatif",
    Sentiment.NEUTRAL: "Netral",
    Sentiment.POSITIVE: "Positif",
}
STEPS = ("menu", "city", "cases", "sentiment", "typing")

THANKS = "Terima kasih — tercatat"
NO_CHANGE = "Tidak ada yang berubah"
CANCELLED = "Dibatalkan"


# ------------------------------------------------------------------------------------------- the alert row


def alert_keyboard(article: Article) -> Keyboard:
    """The one button row under every alert; no mute button when the outlet is unknown."""
    row: list[Button] = [("✏️ Koreksi", f"fb:{article.id}:k")]
    if article.source:
        row.append(("🔇 Bisukan sumber", f"fb:{article.id}:m"))
    return (tuple(row),)


def parse_alert_data(data: str) -> tuple[int, str] | None:
    """(article id, "k" | "m") from an alert button, or None for anything else."""
    match = ALERT_DATA_RE.fullmatch(data)
    return (int(match.group(1)), match.group(2)) if match else None


# ------------------------------------------------------------------------------------------- the draft


@dataclass(slots=True)
class Draft:
    """One correction in progress; stored as `to_payload()` between presses (and across restarts)."""

    article_id: int
    step: str = "menu"
    cases: list[str] = field(default_factory=list)  # the toggled selection, main first
    choices: list[str] = field(default_factory=list)  # Kab/Kota codes offered as buttons
    prompt_id: int | None = None  # the "ketik nama" prompt message, while waiting for the reply

    def to_payload(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "step": self.step,
            "cases": list(self.cases),
            "choices": list(self.choices),
            "prompt_id": self.prompt_id,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Draft | None:
        """The draft, or None if the stored payload is not one (never trust a shape blindly)."""
        article_id = payload.get("article_id")
        step = payload.get("step")
        cases = payload.get("cases")
        choices = payload.get("choices")
        prompt_id = payload.get("prompt_id")
        if not isinstance(article_id, int) or step not in STEPS:
            return None
        if not isinstance(cases, list) or not all(isinstance(k, str) and k in classify.CASE_KEYS for k in cases):
            return None
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            return None
        if prompt_id is not None and not isinstance(prompt_id, int):
            return None
        return cls(article_id, str(step), list(cases), list(choices), prompt_id)


def new_draft(article: Article) -> Draft:
    return Draft(article_id=article.id, cases=list(article.classification.cases), choices=city_choices(article))


def city_choices(article: Article) -> list[str]:
    """Codes of the other Kab/Kota the article names (its further places first), not the current one."""
    cls = article.classification
    current = cls.city.code if cls.city else None
    codes = [p.code for p in cls.other_cities]
    codes += [p.code for p in classify.candidate_places(article.title, article.body)]
    return [c for c in dict.fromkeys(codes) if c != current][:MAX_CITY_CHOICES]


# ------------------------------------------------------------------------------------------- keyboards


def _data(token: str, op: str, arg: str = "") -> str:
    return f"cr:{token}:{op}" + (f":{arg}" if arg else "")


def keyboard_for(token: str, draft: Draft, article: Article) -> Keyboard:
    """The keyboard of the draft's current step."""
    back: Button = ("◀ Kembali", _data(token, "back"))
    if draft.step == "city":
        rows: list[tuple[Button, ...]] = []
        for code in draft.choices:
            place = classify.place_by_code(code)
            if place is not None:
                rows.append((("📍 " + place.name, _data(token, "c", code)),))
        rows.append((("⌨️ Ketik nama", _data(token, "type")), ("∅ Tidak ada Kab/Kota", _data(token, "c", "-"))))
        rows.append((back,))
        return tuple(rows)
    if draft.step == "cases":
        chosen = set(draft.cases)
        buttons = [
            (("✅ " if key in chosen else "") + classify.case_label(key), _data(token, "t", key))
            for key in classify.CASE_KEYS
        ]
        rows = [tuple(buttons[i : i + 3]) for i in range(0, len(buttons), 3)]
        rows.append(((("✅ " if not chosen else "") + "Tidak ada kasus", _data(token, "t", "-")),))
        rows.append((("✔️ Simpan", _data(token, "save")), back))
        return tuple(rows)
    if draft.step == "sentiment":
        current = article.classification.sentiment
        row = tuple(
            (("• " if sentiment is current else "") + SENTIMENT_LABELS[sentiment], _data(token, "s", code))
            for code, sentiment in SENTIMENT_CODES.items()
        )
        return (row, (back,))
    if draft.step == "typing":
        return ((("⌨️ Menunggu nama Kab/Kota…", _data(token, "city")), back),)
    return (
        (("📍 Kab/Kota salah", _data(token, "city")), ("🏷 Kasus salah", _data(token, "cases"))),
        (("🙂 Sentimen salah", _data(token, "sent")), ("🚫 Bukan untuk saya", _data(token, "irr"))),
        (("✖️ Batal", _data(token, "x")),),
    )


# ------------------------------------------------------------------------------------------- presses


@dataclass(frozen=True, slots=True)
class Press:
    token: str
    op: str
    arg: str


def parse_correction_data(data: str) -> Press | None:
    match = CORRECTION_DATA_RE.fullmatch(data)
    if match is None:
        return None
    return Press(match.group(1), match.group(2), match.group(3) or "")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a press leads to. Exactly one of: `show` (the draft's new step), `finish` (a correction to
    record), `ask_name` (send the "ketik nama" prompt), `cancel`; `notice` is the answerCallbackQuery text."""

    show: bool = False
    finish: LabelCorrection | None = None
    ask_name: bool = False
    cancel: bool = False
    notice: str = ""
    refused: bool = False  # the press was not acceptable (a forged or stale argument)


def press(draft: Draft, pressed: Press, article: Article) -> Outcome:
    """Apply one press to the draft (in place) and say what happens next. Pure; validates the argument."""
    op, arg = pressed.op, pressed.arg
    refused = Outcome(refused=True, notice="Tombol ini tidak dikenal.")
    if op == "x":
        return Outcome(cancel=True, notice=CANCELLED)
    if op in ("back",):
        draft.step, draft.prompt_id = "menu", None
        return Outcome(show=True)
    if op == "city":
        draft.step, draft.prompt_id = "city", None
        return Outcome(show=True)
    if op == "cases":
        draft.step = "cases"
        return Outcome(show=True)
    if op == "sent":
        draft.step = "sentiment"
        return Outcome(show=True)
    if op == "irr":
        return Outcome(finish=LabelCorrection("relevance"), notice=THANKS)
    if op == "type":
        if draft.step not in ("city", "typing"):
            return refused
        draft.step = "typing"
        return Outcome(ask_name=True, show=True, notice="Ketik nama Kab/Kota sebagai balasan.")
    if op == "c":
        if draft.step not in ("city", "typing"):
            return refused
        if arg == "-":
            return Outcome(finish=LabelCorrection("city", city=None), notice=THANKS)
        place = classify.place_by_code(arg)
        # Only the places offered on this draft's buttons (a forged code names nothing else).
        if place is None or arg not in draft.choices:
            return refused
        return Outcome(finish=LabelCorrection("city", city=place), notice=THANKS)
    if op == "t":
        if draft.step != "cases":
            return refused
        if arg == "-":
            draft.cases.clear()
        elif arg in classify.CASE_KEYS:
            if arg in draft.cases:
                draft.cases.remove(arg)
            else:
                draft.cases.append(arg)
        else:
            return refused
        return Outcome(show=True)
    if op == "save":
        if draft.step != "cases":
            return refused
        return Outcome(finish=LabelCorrection("cases", cases=tuple(draft.cases)), notice=THANKS)
    if op == "s":
        if draft.step != "sentiment" or arg not in SENTIMENT_CODES:
            return refused
        return Outcome(finish=LabelCorrection("sentiment", sentiment=SENTIMENT_CODES[arg]), notice=THANKS)
    return refused


def resolve_typed_place(text: str) -> list[Place]:
    """The Kab/Kota a typed name means, with the aliases /langganan knows ("Solo" → Kota Surakarta).

    Several for an ambiguous name ("Bandung": Kota and Kabupaten); raises InputError (Indonesian, for
    the chat, HTML-safe) when the words name no Kab/Kota — a province, a case, or nothing known.
    """
    typed = " ".join(text.split())[:MAX_TYPED]
    if not typed:
        raise InputError("Ketik nama Kab/Kota, mis. <i>Solo</i> atau <i>Kabupaten Sukoharjo</i>.")
    try:
        codes = parse_query(typed).filter.area_codes
    except InputError:
        codes = frozenset()
    places = [p for p in (classify.place_by_code(c) for c in sorted(codes)) if p is not None]
    if places:
        return places
    if codes:  # only provinces
        raise InputError("Itu nama provinsi. Ketik nama Kab/Kota-nya, mis. <i>Kota Semarang</i>.")
    hints = [name for name in suggest(typed) if classify.resolve_place(name)]
    hint = f" Mungkin maksud Anda: {html.escape(', '.join(hints))}?" if hints else ""
    raise InputError(f"“{html.escape(typed)}” tidak dikenal sebagai Kab/Kota.{hint} Coba ketik lagi.")
