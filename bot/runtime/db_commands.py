"""`pantau db copy SQLITE_PATH postgresql://…`: move an installation from its SQLite file to PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TextIO

from bot.errors import InputError
from bot.runtime.runlock import open_command_database
from storage.copy import copy_database
from storage.db import is_postgres_url, open_database


def copy_command(source: str, target: str, out: TextIO) -> int:
    source = source.removeprefix("sqlite:///")
    if is_postgres_url(source):
        raise InputError("db copy: the source is the SQLite file (a path), the target the postgresql:// URL")
    if not is_postgres_url(target):
        raise InputError(f"db copy: the target must be a postgresql:// URL, got {target!r}")
    path = Path(source).expanduser()
    if not path.is_file():
        raise InputError(f"db copy: no SQLite database at {path}")
    return asyncio.run(_copy(path, target, out))


async def _copy(path: Path, target: str, out: TextIO) -> int:
    src = await open_command_database(path)
    try:
        dst = await open_database(target)
        try:
            tables = await copy_database(src, dst)
        finally:
            await dst.close()
    finally:
        await src.close()
    width = max(len(t.table) for t in tables)
    for t in tables:
        out.write(f"{t.table:<{width}}  {t.rows:>9} rows  ({t.copied} copied now)\n")
    out.write(f"copied into {dst.name}: every table's row count matches {src.name}\n")
    return 0
