"""Export files for /ekspor and `pantau export`: CSV (UTF-8 with BOM, so Excel shows Indonesian text
intact), XLSX (openpyxl's write-only mode: rows go to disk as they come, times are real Excel dates)
and JSON lines. Writers take rows one at a time, so an export of any size streams from the database
cursor (storage.reports.export_rows) to the file without holding the rows.
"""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import AsyncIterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from bot.models import ExportRow
from bot.reports.periods import zone

FORMATS = ("csv", "xlsx", "jsonl")
SENTIMENT_WORD = {"negative": "negatif", "neutral": "netral", "positive": "positif"}


def header(tz_name: str) -> list[str]:
    return [
        f"Waktu ({tz_name})",
        "Media",
        "Judul",
        "Tautan",
        "Kab/Kota",
        "Provinsi",
        "Kasus",
        "Sentimen",
        "Keyakinan (%)",
        "ID peristiwa",
        "Langganan",
    ]


def _local(moment: datetime, tz_name: str) -> datetime:
    """Local wall time without a zone: Excel dates have none, the header names it."""
    return moment.astimezone(zone(tz_name)).replace(tzinfo=None)


def _values(row: ExportRow, tz_name: str) -> list[object]:
    return [
        _local(row.at, tz_name),
        row.outlet,
        row.title,
        row.link,
        row.city_name,
        row.province,
        ", ".join(row.cases),
        SENTIMENT_WORD[row.sentiment.value],
        row.confidence,
        row.story_id if row.story_id is not None else "",
        f"#{row.subscription_id}" if row.subscription_id is not None else "",
    ]


class ExportWriter(Protocol):
    def add(self, row: ExportRow) -> None: ...

    def close(self) -> None: ...


def _text_target(target: Path | IO[str], encoding: str) -> tuple[IO[str], bool]:
    """An open text stream for `target` and whether we own (and must close) it."""
    if isinstance(target, Path):
        return target.open("w", encoding=encoding, newline=""), True
    if encoding == "utf-8-sig":
        target.write("\ufeff")
    return target, False


class CsvWriter:
    def __init__(self, target: Path | IO[str], tz_name: str) -> None:
        self.tz_name = tz_name
        # utf-8-sig writes the BOM Excel needs to read the file as UTF-8.
        self._file, self._own = _text_target(target, "utf-8-sig")
        self._csv = csv.writer(self._file)
        self._csv.writerow(header(tz_name))

    def add(self, row: ExportRow) -> None:
        values = _values(row, self.tz_name)
        values[0] = row.at.astimezone(zone(self.tz_name)).strftime("%Y-%m-%d %H:%M")
        self._csv.writerow(values)

    def close(self) -> None:
        if self._own:
            self._file.close()
        else:
            self._file.flush()


class XlsxWriter:
    def __init__(self, path: Path, tz_name: str) -> None:
        self.path = path
        self.tz_name = tz_name
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet("Pantau")
        self._sheet.freeze_panes = "A2"
        for column, width in zip("ABCDEFGHIJK", (17, 18, 70, 40, 22, 18, 22, 10, 8, 10, 10), strict=True):
            self._sheet.column_dimensions[column].width = width
        self._sheet.append(header(tz_name))

    def add(self, row: ExportRow) -> None:
        values = _values(row, self.tz_name)
        when = WriteOnlyCell(self._sheet, value=values[0])
        when.number_format = "yyyy-mm-dd hh:mm"
        self._sheet.append([when, *values[1:]])

    def close(self) -> None:
        self._book.save(self.path)


class JsonlWriter:
    def __init__(self, target: Path | IO[str], tz_name: str) -> None:
        self.tz_name = tz_name
        self._file, self._own = _text_target(target, "utf-8")

    def add(self, row: ExportRow) -> None:
        record = {
            "time": row.at.astimezone(zone(self.tz_name)).isoformat(),
            "outlet": row.outlet,
            "title": row.title,
            "link": row.link,
            "city": row.city_name,
            "province": row.province,
            "cases": list(row.cases),
            "sentiment": row.sentiment.value,
            "confidence": row.confidence,
            "story_id": row.story_id,
            "subscription_id": row.subscription_id,
        }
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._own:
            self._file.close()
        else:
            self._file.flush()


def open_writer(fmt: str, target: Path | IO[str], tz_name: str = "WIB") -> ExportWriter:
    """A writer of `fmt` to a file path, or (csv, jsonl) to an open text stream such as stdout."""
    if fmt == "csv":
        return CsvWriter(target, tz_name)
    if fmt == "xlsx":
        if not isinstance(target, Path):
            raise ValueError("xlsx needs a file to write to")
        return XlsxWriter(target, tz_name)
    if fmt == "jsonl":
        return JsonlWriter(target, tz_name)
    raise ValueError(f"unknown export format {fmt!r} (choose {', '.join(FORMATS)})")


async def write_all(rows: AsyncIterable[ExportRow], writers: Sequence[ExportWriter], *, batch: int = 1000) -> int:
    """Feed every row to every writer and close them; returns the number of rows.

    Writing runs in a worker thread a batch at a time: openpyxl needs ~0.2 ms per row, so 80,000 rows
    written on the event loop would stall polling and sending for seconds.
    """
    count = 0
    pending: list[ExportRow] = []

    def add(chunk: list[ExportRow]) -> None:
        for row in chunk:
            for writer in writers:
                writer.add(row)

    def close() -> None:
        for writer in writers:
            writer.close()

    try:
        async for row in rows:
            pending.append(row)
            count += 1
            if len(pending) >= batch:
                chunk, pending = pending, []
                await asyncio.to_thread(add, chunk)
        if pending:
            await asyncio.to_thread(add, pending)
    finally:
        await asyncio.to_thread(close)
    return count
