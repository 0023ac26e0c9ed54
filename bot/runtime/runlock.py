"""One `pantau run` per database: a second one would poll the same bot token (Telegram answers 409)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from bot.errors import PantauError


class AlreadyRunningError(PantauError):
    pass


class RunLock:
    """An exclusive flock on `<db>.lock`, released by the kernel even when the process is killed."""

    def __init__(self, db_path: Path) -> None:
        # The file the path ends up at: a symlink (or ~, or a relative path) to the same database must
        # meet the same lock.
        db_path = db_path.expanduser().resolve()
        self.path = db_path.with_name(db_path.name + ".lock")
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
