"""How long a chat pauses: `/jeda 2 jam`, `/jeda 30 menit`, `/jeda 1 hari` (pure).

Indonesian and English units, a number before the unit ("2 jam", "2jam", "2 j"); a bare number is hours.
Bounds keep the hold meaningful: at least a minute, at most 30 days.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.errors import InputError

MAX_PAUSE = timedelta(days=30)
MIN_PAUSE = timedelta(minutes=1)
_UNITS: dict[str, timedelta] = {
    **dict.fromkeys(("m", "mnt", "menit", "min", "mins", "minute", "minutes"), timedelta(minutes=1)),
    **dict.fromkeys(("j", "jam", "h", "hr", "hrs", "hour", "hours"), timedelta(hours=1)),
    **dict.fromkeys(("hari", "d", "day", "days"), timedelta(days=1)),
    **dict.fromkeys(("minggu", "pekan", "w", "week", "weeks"), timedelta(weeks=1)),
}
_PART_RE = re.compile(r"([0-9]{1,4}(?:[.,][0-9]{1,2})?)\s*([^\W\d_]*)")
USAGE = "Tulis lamanya, mis. /jeda 2 jam, /jeda 30 menit atau /jeda 1 hari."  # plain text: the caller escapes


def parse_duration(text: str) -> timedelta:
    """'2 jam' → 2 h; '1 jam 30 menit' → 1.5 h; raises InputError (message in Indonesian) otherwise."""
    words = " ".join(text.casefold().split()).removeprefix("selama ").strip()
    if not words:
        raise InputError(USAGE)
    total = timedelta()
    position = 0
    for match in _PART_RE.finditer(words):
        if words[position : match.start()].strip(" ,") not in ("", "dan", "and"):
            break
        number, unit = match.group(1), match.group(2) or "jam"
        if unit not in _UNITS:
            raise InputError(f"Satuan waktu “{unit[:20]}” tidak dikenal. {USAGE}")
        total += _UNITS[unit] * float(number.replace(",", "."))
        position = match.end()
    if position == 0 or words[position:].strip():
        raise InputError(f"Lama jeda tidak dimengerti: “{text.strip()[:40]}”. {USAGE}")
    if total < MIN_PAUSE:
        raise InputError("Jeda paling singkat 1 menit.")
    if total > MAX_PAUSE:
        raise InputError("Jeda paling lama 30 hari. Untuk berhenti lebih lama: /jeda tanpa lama waktu.")
    return total
