"""Report periods and schedules, pure: the words of /ringkasan and /ekspor → a UTC window, Indonesia's three
time zones, the daily brief's due moment, and Indonesian number formats ("42 %", "0,4", "1.234").

Days are the chat's local days (WIB by default): "kemarin" in Jayapura ends at midnight WIT.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

from bot.errors import InputError
from bot.models import ReportWindow

ZONES: dict[str, int] = {"WIB": 7, "WITA": 8, "WIT": 9}
DEFAULT_ZONE = "WIB"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")


def zone(name: str) -> timezone:
    return timezone(timedelta(hours=ZONES.get(name, ZONES[DEFAULT_ZONE])), name if name in ZONES else DEFAULT_ZONE)


def parse_zone(text: str) -> str:
    name = text.strip().upper()
    if name not in ZONES:
        raise InputError("Zona waktu yang dikenal: WIB, WITA, WIT. Contoh: /zona WITA")
    return name


@dataclass(frozen=True, slots=True)
class Period:
    key: str  # "24jam" | "hari_ini" | "kemarin" | "7hari" | "30hari"
    label: str  # "24 jam terakhir"
    window: ReportWindow
    previous: tuple[datetime, datetime]  # the period it is compared with
    previous_label: str  # "minggu lalu"


# (pattern, key); the period words may open the argument text, the rest are filter words.
_PERIOD_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(hari\s+ini|today)\b", re.I), "hari_ini"),
    (re.compile(r"^(kemarin|yesterday)\b", re.I), "kemarin"),
    (re.compile(r"^(24\s*jam|24\s*h|1\s*hari|1d)\b", re.I), "24jam"),
    (re.compile(r"^(7\s*hari|7d|seminggu|minggu\s+ini|1\s*minggu|week)\b", re.I), "7hari"),
    (re.compile(r"^(30\s*hari|30d|sebulan|1\s*bulan|month)\b", re.I), "30hari"),
)
_OTHER_NUMBER = re.compile(r"^(\d+)\s*(hari|jam|d|h)\b", re.I)


def split_period(text: str, default: str = "24jam") -> tuple[str, str]:
    """("7 hari Solo banjir") → ("7hari", "Solo banjir"). An unsupported length is refused, not guessed."""
    stripped = text.strip()
    for pattern, key in _PERIOD_WORDS:
        found = pattern.match(stripped)
        if found:
            return key, stripped[found.end() :].strip()
    if _OTHER_NUMBER.match(stripped):
        raise InputError("Periode yang bisa dipakai: hari ini, kemarin, 24 jam, 7 hari, 30 hari.")
    return default, stripped


def local_midnight(moment: datetime, tz: timezone) -> datetime:
    local = moment.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz).astimezone(UTC)


def make_period(key: str, now: datetime, tz_name: str = DEFAULT_ZONE) -> Period:
    """The window of a period key ending now (or at the end of yesterday), in the chat's zone."""
    tz = zone(tz_name)
    offset = ZONES.get(tz_name, ZONES[DEFAULT_ZONE])
    midnight = local_midnight(now, tz)
    day = timedelta(days=1)
    if key == "hari_ini":
        start, end, hourly, label, span, prev = midnight, now, True, "hari ini", day, "kemarin"
    elif key == "kemarin":
        start, end, hourly, label, span, prev = midnight - day, midnight, True, "kemarin", day, "hari sebelumnya"
    elif key == "7hari":
        start, end, hourly, label, span, prev = midnight - 6 * day, now, False, "7 hari", 7 * day, "minggu lalu"
    elif key == "30hari":
        start, end, hourly, label = midnight - 29 * day, now, False, "30 hari"
        span, prev = 30 * day, "30 hari sebelumnya"
    else:
        start, end, hourly, label, span, prev = now - day, now, True, "24 jam terakhir", day, "24 jam sebelumnya"
    return Period(
        key=key,
        label=label,
        window=ReportWindow(start=start, end=end, utc_offset_hours=offset, hourly=hourly),
        previous=(start - span, end - span),
        previous_label=prev,
    )


def daily_period(end: datetime, tz_name: str) -> Period:
    """The daily brief: the 24 hours up to its scheduled moment, compared with the 24 hours before."""
    period = make_period("24jam", end, tz_name)
    return Period(
        key="harian",
        label="24 jam terakhir",
        window=period.window,
        previous=period.previous,
        previous_label="hari sebelumnya",
    )


def buckets(window: ReportWindow) -> list[str]:
    """Every bucket key of the window in order (as storage.reports.summary names them), empty ones too."""
    tz = timezone(timedelta(hours=window.utc_offset_hours))
    step = timedelta(hours=1) if window.hourly else timedelta(days=1)
    local = window.start.astimezone(tz)
    cursor = local.replace(minute=0, second=0, microsecond=0)
    if not window.hourly:
        cursor = cursor.replace(hour=0)
    keys: list[str] = []
    end = window.end.astimezone(tz)
    while cursor < end:
        keys.append(cursor.strftime("%Y-%m-%d %H" if window.hourly else "%Y-%m-%d"))
        cursor += step
    return keys


def bucket_label(key: str) -> str:
    """ "2026-12-01" → "1 Des"; "2026-12-01 07" → "07.00"."""
    if " " in key:
        return f"{key[-2:]}.00"
    day = date.fromisoformat(key)
    return f"{day.day} {_MONTHS[day.month - 1]}"


def format_day(moment: datetime, tz_name: str) -> str:
    local = moment.astimezone(zone(tz_name))
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}"


def format_moment(moment: datetime, tz_name: str) -> str:
    """ "1 Des 2026 07.00 WIB"."""
    local = moment.astimezone(zone(tz_name))
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year} {local:%H.%M} {tz_name}"


def describe_window(period: Period, tz_name: str) -> str:
    """ "24 Nov – 1 Des 2026" or "1 Des 2026 07.00 – 2 Des 2026 07.00 WIB" (inclusive days)."""
    window = period.window
    if window.hourly:
        return f"{format_moment(window.start, tz_name)} – {format_moment(window.end, tz_name)}"
    last = window.end - timedelta(seconds=1)
    return f"{format_day(window.start, tz_name)} – {format_day(last, tz_name)}"


# ---- daily brief schedule -------------------------------------------------------------------------

_TIME_RE = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")


def parse_brief_time(text: str) -> str:
    """ "7:00" / "07.00" → "07:00"; anything else is refused with an example."""
    found = _TIME_RE.match(text.strip())
    if not found:
        raise InputError("Tulis jamnya seperti 07:00 (00:00–23:59), atau off untuk mematikan.")
    return f"{int(found.group(1)):02d}:{found.group(2)}"


@dataclass(frozen=True, slots=True)
class DueBrief:
    chat_id: int
    day: str  # the local day, "2026-12-01": one brief per chat per day
    period_end: datetime  # the scheduled moment (UTC); the brief covers the 24 hours before it
    thread_id: int | None


def due_brief(
    chat_id: int,
    brief_time: str,
    tz_name: str,
    since: datetime | None,
    thread_id: int | None,
    now: datetime,
) -> DueBrief | None:
    """Today's brief if its time has come (a brief missed while the bot was down is still due the same
    day), and the setting existed before that time (set at 15:00 for 07:00, the first brief is tomorrow)."""
    tz = zone(tz_name)
    hour, minute = (int(part) for part in brief_time.split(":"))
    today = now.astimezone(tz).date()
    scheduled = datetime.combine(today, time(hour, minute), tzinfo=tz).astimezone(UTC)
    if now < scheduled or (since is not None and since > scheduled):
        return None
    return DueBrief(chat_id=chat_id, day=today.isoformat(), period_end=scheduled, thread_id=thread_id)


# ---- Indonesian number formats --------------------------------------------------------------------


def fmt_int(value: int) -> str:
    """1234 → "1.234"."""
    return f"{value:,}".replace(",", ".")


def fmt_decimal(value: float, digits: int = 1) -> str:
    """0.4 → "0,4"."""
    text = f"{value:,.{digits}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def fmt_percent(part: int, whole: int) -> str:
    """42 % (rounded; "0 %" for an empty whole)."""
    return f"{round(100 * part / whole) if whole else 0} %"
