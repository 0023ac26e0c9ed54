"""One `pantau run` per database: a second one would poll the same bot token (Telegram answers 409).

The lock also tells the other commands (`pantau feeds …`, `poll --once`, `export`, …) that a service has
the database open, so they can refuse to use it when its -wal/-shm were deleted under that service
(`open_command_database`; storage/db.py says why that would lose writes), and the service itself
stops with one line when that happens under it (`watch_database`).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from pathlib import Path
from types import TracebackType

from bot.errors import PantauError
from storage.db import Database, open_database

logger = logging.getLogger(__name__)
WATCH_EVERY = 1.0  # seconds between two looks at the database's files (three stat calls)


class AlreadyRunningError(PantauError):
    pass


def _lock_path(db_path: Path) -> Path:
    # The file the path ends up at: a symlink (or ~, or a relative path) to the same database must meet
    # the same lock.
    db_path = db_path.expanduser().resolve()
    return db_path.with_name(db_path.name + ".lock")


def service_running(db_path: Path) -> bool:
    """Whether a `pantau run` holds the lock of this database now."""
    try:
        fd = os.open(_lock_path(db_path), os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        # A shared lock is refused only while a run holds its exclusive one (and is dropped at once).
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also releases the probe's lock
    return False


async def open_command_database(target: Path | str) -> Database:
    """Open the database for a command run beside a possible `pantau run` (refusing a broken share of an
    SQLite file; a PostgreSQL server is shared by design)."""
    if isinstance(target, Path):
        return await open_database(target, in_use=service_running(target))
    return await open_database(target)


async def watch_database(db: Database, *, every: float = WATCH_EVERY) -> None:
    """Return never; raise DatabaseReplacedError once the database's files are deleted or replaced.

    Transactions check too, but a quiet service would otherwise learn of it only at its next write. On
    the way out the service closes the database normally, which copies its (deleted) -wal into the main
    file, so what it had committed is kept.
    """
    while True:
        await asyncio.sleep(every)
        db.check_files()


class RunLock:
    """An exclusive flock on `<db>.lock`, released by the kernel even when the process is killed."""

    def __init__(self, db_path: Path) -> None:
        self.path = _lock_path(db_path)
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunningError(
                f"another pantau run is already using {self.path.with_suffix('')} (lock {self.path})"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
