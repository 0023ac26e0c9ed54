"""Helpers for tests that start `pantau` as a subprocess."""

from __future__ import annotations

import os


def clean_environ() -> dict[str, str]:
    """This process's environment without any TELEGRAM_* or PANTAU_* variable a developer may have set,
    so a subprocess sees only the settings its test gives it."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "PANTAU_"))}
