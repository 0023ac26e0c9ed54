"""The files under an open database: deleting its -wal/-shm (or replacing it) never turns into a lost write.

Issue #12 item 12: with `pantau run` holding the database, an operator deleted the -wal and -shm; the
CLI then saw an empty database and reported a `feeds add` as done that was later overwritten. Real
SQLite files in tmp_path; the CLI and the service as real processes where the fault needs two of them.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import DatabaseReplacedError
from bot.runtime.runlock import RunLock, service_running, watch_database
from storage import feeds as feed_store
from storage.db import Database, open_database
from tests.fake_botapi import TOKEN, FakeBotAPIServer
from tests.feed_server import FeedServer
from tests.processes import clean_environ

RSS = (
    b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Warta Uji</title>'
    b"<item><guid>a1</guid><link>https://warta.example/a1</link><title>Banjir di Sragen</title>"
    b"<description>SRAGEN - Banjir merendam rumah warga.</description></item></channel></rss>"
)


def pantau(*args: str, db: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**clean_environ(), "PANTAU_DB": str(db)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def stored_articles(path: Path) -> int:
    """Read through a connection of our own (closed again before anything is deleted)."""
    if not path.with_name(path.name + "-wal").exists():
        return 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    finally:
        conn.close()


def delete_side_files(path: Path) -> None:
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink()


async def urls(path: Path) -> list[str]:
    db = await open_database(path)
    try:
        return [feed.url for feed in await feed_store.list_feeds(db)]
    finally:
        await db.close()


async def add(db: Database, url: str) -> None:
    await feed_store.add_feed(db, url, now=datetime.now(UTC))


async def test_a_write_after_the_wal_and_shm_were_deleted_is_refused_and_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "pantau.db"
    db = await open_database(path)
    try:
        await add(db, "https://a.example/rss")
        assert db.replaced is None
        delete_side_files(path)
        with pytest.raises(DatabaseReplacedError) as caught:
            await add(db, "https://b.example/rss")
        message = str(caught.value)
        assert "\n" not in message and "-wal file was deleted" in message and str(path) in message
        assert db.replaced == message  # sticky: every later write is refused too
        with pytest.raises(DatabaseReplacedError):
            await add(db, "https://c.example/rss")
    finally:
        await db.close()  # copies what the deleted -wal held into the main file
    assert await urls(path) == ["https://a.example/rss"]


async def test_files_deleted_during_a_transaction_make_its_commit_an_error(tmp_path: Path) -> None:
    path = tmp_path / "pantau.db"
    db = await open_database(path)
    try:
        with pytest.raises(DatabaseReplacedError, match="last write .* may be lost"):
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO feeds (url, next_check_at, added_at) VALUES (?, ?, ?)",
                    ("https://a.example/rss", "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
                )
                delete_side_files(path)
    finally:
        await db.close()


async def test_a_replaced_database_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pantau.db"
    other = tmp_path / "backup.db"
    sqlite3.connect(other).close()
    db = await open_database(path)
    try:
        await add(db, "https://a.example/rss")
        os.replace(other, path)
        with pytest.raises(DatabaseReplacedError, match="the database file was replaced"):
            await add(db, "https://b.example/rss")
    finally:
        await db.close()


async def test_untouched_files_pass_and_another_process_may_share_them(tmp_path: Path) -> None:
    path = tmp_path / "pantau.db"
    db = await open_database(path)
    try:
        await add(db, "https://a.example/rss")
        second = await open_database(path, in_use=True)  # the side files are there: a normal share
        try:
            await add(second, "https://b.example/rss")
        finally:
            await second.close()
        await add(db, "https://c.example/rss")  # the other one closing left our files alone
        db.check_files()
    finally:
        await db.close()
    assert sorted(await urls(path)) == [f"https://{h}.example/rss" for h in "abc"]


async def test_watch_database_raises_soon_after_the_files_go(tmp_path: Path) -> None:
    path = tmp_path / "pantau.db"
    db = await open_database(path)
    try:
        delete_side_files(path)
        started = time.monotonic()
        with pytest.raises(DatabaseReplacedError):
            await watch_database(db, every=0.05)
        assert time.monotonic() - started < 2
    finally:
        await db.close()


async def test_the_cli_refuses_to_use_a_database_whose_wal_was_deleted_under_a_running_service(
    tmp_path: Path,
) -> None:
    path = tmp_path / "pantau.db"
    with RunLock(path):  # this test is the running service
        assert service_running(path)
        db = await open_database(path)
        try:
            await add(db, "https://a.example/rss")
            listing = pantau("feeds", "list", db=path)
            assert listing.returncode == 0 and "a.example" in listing.stdout  # shared normally
            delete_side_files(path)
            for command in (
                ("feeds", "add", "https://b.example/rss"),
                ("feeds", "list"),
                ("export", "--format", "csv"),
            ):
                result = pantau(*command, db=path)
                assert result.returncode == 2, (command, result.stdout, result.stderr)
                assert result.stdout == ""  # no "added feed …", no empty listing
                lines = result.stderr.strip().splitlines()
                assert len(lines) == 1 and "-wal and -shm" in lines[0] and "stop pantau run" in lines[0], lines
            assert not path.with_name("pantau.db-wal").exists()  # the refusal created nothing
        finally:
            await db.close()
    assert not service_running(path)
    assert await urls(path) == ["https://a.example/rss"]  # the service's write kept, nothing half-done
    # With no service running, a database without side files is the normal closed state.
    added = pantau("feeds", "add", "https://b.example/rss", db=path)
    assert added.returncode == 0, added.stderr


@pytest.mark.parametrize("mode", ["console", "telegram"])
async def test_a_running_service_stops_with_one_line_when_its_wal_is_deleted(
    tmp_path: Path, feed_server: FeedServer, mode: str
) -> None:
    feed_server.route("/rss", body=RSS)
    path = tmp_path / "pantau.db"
    assert pantau("feeds", "add", feed_server.url("/rss"), "--full-text", "never", db=path).returncode == 0
    env = {**clean_environ(), "PANTAU_DB": str(path), "PANTAU_POLL_INTERVAL": "60"}
    async with FakeBotAPIServer() as api:
        if mode == "telegram":
            env |= {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api.base_url}
        service = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            for _ in range(300):  # up to a minute
                if stored_articles(path) or service.returncode is not None:
                    break
                await asyncio.sleep(0.2)
            assert stored_articles(path) == 1, "the service did not store its first poll"
            delete_side_files(path)
            out, _ = await asyncio.wait_for(service.communicate(), timeout=20)
        finally:
            if service.returncode is None:
                service.kill()
                await service.wait()
    log = out.decode()
    assert service.returncode == 2, log
    assert [line for line in log.splitlines() if "-wal file was deleted" in line] and "Traceback" not in log, log
    assert not service_running(path)
    result = pantau("feeds", "list", db=path)  # what the service had written was kept on the way out
    assert result.returncode == 0 and "Warta Uji" in result.stdout, result.stdout
    assert stored_articles(path) == 0  # closed cleanly: no -wal left, its frames are in the main file
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 1
    finally:
        conn.close()


def test_poll_once_fails_when_the_database_files_go_during_the_poll(tmp_path: Path) -> None:
    # The feed is fine; storing its items is what failed. A summary with exit 0 would report a poll
    # whose results went nowhere as done.
    path = tmp_path / "pantau.db"
    with FeedServer() as server:
        server.route("/feed.xml", body=RSS, delay=3.0)
        asyncio.run(_add_feed(path, server.url("/feed.xml")))
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "poll", "--once"],
            env={**clean_environ(), "PANTAU_DB": str(path)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not server.requests_to("/feed.xml") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.requests_to("/feed.xml"), "pantau poll --once never fetched the feed"
        delete_side_files(path)  # while the feed is still answering
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, (out, err)
    # The poller logs the failed store as it happens; the command ends with one line saying why.
    assert err.splitlines()[-1].startswith("pantau: ") and "-wal file was deleted" in err.splitlines()[-1], err
    assert "Traceback" not in err
    assert "failed: 1" in out


async def _add_feed(path: Path, url: str) -> None:
    db = await open_database(path)
    try:  # full text off: the item's page would be on a host that only exists in the test's words
        await feed_store.add_feed(db, url, now=datetime.now(UTC), full_text="never")
    finally:
        await db.close()
