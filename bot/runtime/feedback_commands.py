"""`pantau feedback export` and `pantau feedback stats`: the analysts' corrections out of the database.

`export` writes one labelled record per corrected article in the dev-set format (`pantau eval` reads it
as it is) to stdout or `-o FILE` (written whole or not at all); disagreements between corrections of one
article are resolved (latest trusted wins) and reported on stderr, with a one-line summary.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import TextIO

from bot import classify
from bot.config import Settings
from bot.errors import InputError
from bot.feedback.export import Conflict, labelled_record, resolve
from bot.runtime.runlock import open_command_database
from storage import feedback as feedback_store
from storage.feedback import FeedbackStats
from storage.timeutil import utcnow


async def dispatch(settings: Settings, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    db = await open_command_database(settings.database)
    try:
        if args.feedback_command == "export":
            pairs = await feedback_store.corrections_for_export(db, trusted_only=args.trusted)
            records: list[str] = []
            conflicts: list[Conflict] = []
            for article, corrections in pairs:
                winners, found = resolve(article.id, corrections)
                conflicts += found
                records.append(json.dumps(labelled_record(article, winners), ensure_ascii=False))
            _write(records, args.output, out)
            for conflict in conflicts:
                err.write(f"conflict: {conflict.line()}\n")
            kind = "trusted " if args.trusted else ""
            where = f" to {args.output}" if args.output else ""
            err.write(f"exported {len(records)} {kind}corrected articles{where}; {len(conflicts)} conflicts resolved\n")
            return 0
        stats = await feedback_store.feedback_stats(db, now=utcnow())
        out.write(format_stats(stats))
        return 0
    finally:
        await db.close()


def _write(lines: list[str], output: Path | None, out: TextIO) -> None:
    text = "".join(line + "\n" for line in lines)
    if output is None:
        out.write(text)
        return
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"cannot write {output}: folder {folder} does not exist")
    # Written beside the target and renamed over it: a failure never leaves half a file.
    fd, tmp = tempfile.mkstemp(prefix=".pantau-export-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, output)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"cannot write {output}: {exc.strerror}") from None


def _place(code: str | None) -> str:
    if code is None:
        return "(no Kab/Kota)"
    place = classify.place_by_code(code)
    return place.name if place else code


def format_stats(stats: FeedbackStats) -> str:
    lines = ["corrections       7 days  30 days"]
    for field, (week, month) in stats.per_field.items():
        lines.append(f"  {field:<15} {week:>6}  {month:>7}")
    share = stats.corrected_alerts_30 / stats.alerts_30 if stats.alerts_30 else 0.0
    lines.append(f"trusted (30 days): {stats.trusted_30}")
    lines.append(f"alerts corrected (30 days): {stats.corrected_alerts_30} of {stats.alerts_30} sent ({share:.1%})")
    if stats.case_changes:
        lines.append("most-corrected case keys (30 days): key  wrongly given / missed")
        lines += [f"  {key:<16} {wrong:>3} / {missed}" for key, wrong, missed in stats.case_changes]
    if stats.place_changes:
        lines.append("most-corrected places (30 days): classifier's Kab/Kota -> corrected")
        lines += [f"  {n:>3}× {_place(old)} -> {_place(new)}" for old, new, n in stats.place_changes]
    lines.append(f"muted outlets in force: {stats.muted}")
    return "\n".join(lines) + "\n"
