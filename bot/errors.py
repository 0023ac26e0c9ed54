"""Pantau's own error types. Library errors are translated into these at the module boundary.

PantauError
 ├── ConfigError        bad environment / .env value (start-up exits 2)
 ├── FeedError          one feed failed; the poller records it and moves on
 │    ├── FetchError    network, HTTP status, size cap, redirect loop, refused address
 │    ├── ParseError    body is not a feed
 │    └── PageError     an article page gave no usable text (the article keeps its feed text)
 ├── StorageError       database unusable (e.g. newer schema than this code)
 │    ├── DuplicateError  unique value exists already (feed URL, …)
 │    └── DatabaseReplacedError  the file (or its -wal/-shm) at the path is no longer the one in use
 ├── NotFoundError      an id or URL that names nothing
 └── InputError         bad user input (CLI file, chat command); message is user-facing
"""

from __future__ import annotations


class PantauError(Exception):
    """Base of every error Pantau raises on purpose."""


class ConfigError(PantauError):
    pass


class FeedError(PantauError):
    pass


class FetchError(FeedError):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        # Seconds the server asked us to wait (429/503 Retry-After), if any.
        self.retry_after = retry_after


class ParseError(FeedError):
    pass


class PageError(FeedError):
    pass


class StorageError(PantauError):
    pass


class DuplicateError(StorageError):
    pass


class DatabaseReplacedError(StorageError):
    """The database file, or its -wal/-shm, was deleted or replaced under an open database: a write now
    would go into a file nobody else sees (and be lost), so it is refused (the CLI exits 2)."""


class NotFoundError(PantauError):
    pass


class InputError(PantauError):
    pass
