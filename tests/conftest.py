"""Shared pytest fixtures."""

from __future__ import annotations

from tests.feed_server import feed_server  # noqa: F401  (a fixture: a loopback HTTP server, see tests/feed_server.py)
