"""Where the shared, read-only evaluation data lives: `../shared/data` beside the checkout.

`PANTAU_SHARED_DATA` overrides it (a checkout in a nested worktree). Tests that use it skip when the
files are absent; nothing from it is copied into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bot.classify.evaluation import read_labelled


def shared_data_dir() -> Path:
    override = os.environ.get("PANTAU_SHARED_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_records(name: str) -> list[dict[str, Any]]:
    """The labelled records of `name` in the shared data (read as `pantau eval` reads them); the test is
    skipped when the file is absent."""
    path = shared_data_dir() / name
    if not path.is_file():
        pytest.skip(f"{path} not available")
    return read_labelled(path)
