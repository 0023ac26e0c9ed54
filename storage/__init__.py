"""SQLite storage: one aiosqlite connection, numbered migrations, one module per table family."""

from storage.db import Database, open_database

__all__ = ["Database", "open_database"]
