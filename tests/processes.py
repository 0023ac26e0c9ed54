"""Helpers for tests that start `pantau` as a subprocess."""

from __future__ import annotations

import os


def clean_environ() -> dict[str, str]:
    """This process's environment without any TELEGRAM_* or PANTAU_* variable a developer may have set,
    so a subprocess sees only the settings its test gives it."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "PANTAU_"))}


def service_environ(db: object, *, api_base_url: str, token: str, **settings: str) -> dict[str, str]:
    """A clean environment for `pantau run` against a fake Bot API: the database, the token, the API's
    address, then `settings` (``PANTAU_POLL_INTERVAL="1"`` …) as given."""
    return {
        **clean_environ(),
        "PANTAU_DB": str(db),
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_BASE_URL": api_base_url,
        **settings,
    }
