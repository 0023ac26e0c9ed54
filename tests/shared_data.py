"""Where the shared, read-only evaluation data lives: `../shared/data` beside the checkout.

`PANTAU_SHARED_DATA` overrides it (a checkout in a nested worktree). Tests that use it skip when the
files are absent; nothing from it is copied into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path


def shared_data_dir() -> Path:
    override = os.environ.get("PANTAU_SHARED_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"
