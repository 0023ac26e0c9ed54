"""Storage on SQLite (the default, one file) or PostgreSQL: numbered migrations, one module per table family,
one API for both (storage.db.Database; the backend seam is storage.backend)."""

from storage.db import Database, open_database

__all__ = ["Database", "open_database"]
