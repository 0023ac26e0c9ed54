"""The `pantau` command as a user runs it: a subprocess, real files, loopback servers only."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.feed_server import FeedServer
from tests.processes import clean_environ

RSS = (
    b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Warta Uji</title>'
    b"<item><guid>a1</guid><link>https://warta.example/a1</link><title>Banjir Rendam Ratusan Rumah di Sragen"
    b"</title><description>SRAGEN - Banjir merendam ratusan rumah warga di Kecamatan Sidoharjo.</description>"
    b"<pubDate>Selasa, 17 Des 2024 08:00:00 WIB</pubDate></item></channel></rss>"
)


def pantau(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    base = clean_environ()
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**base, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def test_help_lists_every_command() -> None:
    result = pantau("--help")
    assert result.returncode == 0
    for command in ("run", "poll", "feeds", "demo", "classify", "eval"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("variable", "value"),
    [("PANTAU_POLL_INTERVAL", "0"), ("PANTAU_ADMIN_IDS", "x"), ("PANTAU_LOG_LEVEL", "LOUD")],
)
def test_bad_configuration_is_one_line_and_exit_2(tmp_path: Path, variable: str, value: str) -> None:
    result = pantau("feeds", "list", env={"PANTAU_DB": str(tmp_path / "p.db"), variable: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0]


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PANTAU_DB=from-env-file.db\nPANTAU_POLL_INTERVAL=abc\n")
    result = pantau("feeds", "list", cwd=tmp_path, env={"PANTAU_POLL_INTERVAL": "30"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-env-file.db").exists()


def test_feeds_add_list_export_import_remove(tmp_path: Path) -> None:
    env = {"PANTAU_DB": str(tmp_path / "p.db")}
    added = pantau("feeds", "add", "https://warta.example/rss", "--name", "Warta", "--city", "Solo", env=env)
    assert added.returncode == 0, added.stderr
    duplicate = pantau("feeds", "add", "https://warta.example/rss", env=env)
    assert duplicate.returncode == 1 and "already" in duplicate.stderr
    bad_url = pantau("feeds", "add", "ftp://warta.example/rss", env=env)
    assert bad_url.returncode == 2 and "http" in bad_url.stderr
    bad_city = pantau("feeds", "add", "https://x.example/rss", "--city", "Atlantis", env=env)
    assert bad_city.returncode == 2 and "Atlantis" in bad_city.stderr

    listing = pantau("feeds", "list", env=env)
    assert "Warta" in listing.stdout and "never polled" in listing.stdout and "Kota Surakarta" in listing.stdout

    exported = pantau("feeds", "export", env=env)
    assert exported.returncode == 0 and "<opml" in exported.stdout and "https://warta.example/rss" in exported.stdout
    opml = tmp_path / "feeds.opml"
    opml.write_text(exported.stdout)

    removed = pantau("feeds", "remove", "1", env=env)
    assert removed.returncode == 0
    missing = pantau("feeds", "remove", "1", env=env)
    assert missing.returncode == 1 and "no feed" in missing.stderr

    imported = pantau("feeds", "import", str(opml), env=env)
    assert imported.returncode == 0 and "imported 1" in imported.stdout
    again = pantau("feeds", "import", str(opml), env=env)
    assert "imported 0 feeds (1 already present)" in again.stdout


def test_feeds_full_text_setting_is_added_listed_changed_and_kept_through_opml(tmp_path: Path) -> None:
    env = {"PANTAU_DB": str(tmp_path / "p.db")}
    assert pantau("feeds", "add", "https://a.example/rss", "--full-text", "always", env=env).returncode == 0
    assert pantau("feeds", "add", "https://b.example/rss", env=env).returncode == 0
    bad = pantau("feeds", "add", "https://c.example/rss", "--full-text", "sometimes", env=env)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    listing = pantau("feeds", "list", env=env).stdout
    assert "FULL TEXT" in listing
    rows = [line.split() for line in listing.splitlines() if line[:1].isdigit()]
    assert [(row[0], row[-1]) for row in rows] == [("1", "always"), ("2", "auto")]
    changed = pantau("feeds", "set", "2", "--full-text", "never", env=env)
    assert changed.returncode == 0 and "full text never" in changed.stdout
    missing = pantau("feeds", "set", "9", "--full-text", "never", env=env)
    assert missing.returncode == 1 and "no feed" in missing.stderr
    exported = pantau("feeds", "export", env=env).stdout
    assert 'pantau:fullText="always"' in exported and 'pantau:fullText="never"' in exported
    opml = tmp_path / "feeds.opml"
    opml.write_text(exported)
    other = {"PANTAU_DB": str(tmp_path / "other.db")}
    assert pantau("feeds", "import", str(opml), env=other).returncode == 0
    listing = pantau("feeds", "list", env=other).stdout
    rows = [line.split() for line in listing.splitlines() if line[:1].isdigit()]
    assert [row[-1] for row in rows] == ["always", "never"]


def test_import_of_malformed_opml_names_the_problem_and_adds_nothing(tmp_path: Path) -> None:
    env = {"PANTAU_DB": str(tmp_path / "p.db")}
    bad = tmp_path / "bad.opml"
    bad.write_text('<opml version="2.0"><body><outline xmlUrl="https://a.example/rss"></body>')
    result = pantau("feeds", "import", str(bad), env=env)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "no feeds" in pantau("feeds", "list", env=env).stdout


def test_poll_once_prints_a_summary_line(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.route("/rss", body=RSS, etag='"e1"')
    feed_server.route("/gone", status=404)
    env = {"PANTAU_DB": str(tmp_path / "p.db")}
    # The items link to warta.example: no article pages (they would be looked up outside the machine).
    pantau("feeds", "add", feed_server.url("/rss"), "--full-text", "never", env=env)
    pantau("feeds", "add", feed_server.url("/gone"), env=env)
    first = pantau("poll", "--once", env=env)
    assert first.returncode == 0, first.stderr
    assert "feeds fetched: 1, not modified: 0, failed: 1; new articles: 1; alerts queued: 0" in first.stdout
    second = pantau("poll", "--once", env=env)
    assert "feeds fetched: 0, not modified: 1, failed: 1; new articles: 0" in second.stdout
    listing = pantau("feeds", "list", env=env).stdout
    assert "failing" in listing and "last error: HTTP 404" in listing and "Warta Uji" in listing


def test_second_run_on_the_same_database_exits_at_once(tmp_path: Path) -> None:
    from bot.runtime.runlock import RunLock

    db = tmp_path / "p.db"
    with RunLock(db):
        result = pantau("run", env={"PANTAU_DB": str(db)}, timeout=20)
    assert result.returncode == 1
    assert "already" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_symlink_to_the_database_meets_the_same_run_lock(tmp_path: Path) -> None:
    """Issue #12.16: PANTAU_DB through a symlink used to lock `<link>.lock` and start a second service."""
    from bot.runtime.runlock import AlreadyRunningError, RunLock

    db = tmp_path / "p.db"
    db.touch()
    (tmp_path / "other").mkdir()
    link = tmp_path / "other" / "link.db"
    link.symlink_to(db)
    with RunLock(db), pytest.raises(AlreadyRunningError):
        RunLock(link).__enter__()


def test_console_mode_shuts_down_cleanly_on_sigterm(tmp_path: Path, feed_server: FeedServer) -> None:
    """Issue #12.16: console mode used to die on SIGTERM without closing anything."""
    import signal
    import time

    feed_server.route("/feed.xml", body=b"<rss version='2.0'><channel><title>T</title></channel></rss>")
    env = {**clean_environ(), "PANTAU_DB": str(tmp_path / "p.db"), "PANTAU_LOG_LEVEL": "INFO"}
    assert pantau("feeds", "add", feed_server.url("/feed.xml"), env=env).returncode == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 20
        while not feed_server.requests_to("/feed.xml"):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "stopping (signal received)" in err and "Traceback" not in err


def test_demo_prints_at_least_30_alerts_offline() -> None:
    result = pantau("demo", timeout=120)
    assert result.returncode == 0, result.stderr
    alerts = re.findall(r"^── Alert \d+/(\d+)", result.stdout, flags=re.M)
    assert len(alerts) >= 30
    assert "Sentimen: " in result.stdout and "WIB" in result.stdout
    assert "Undefined" not in result.stdout and "(0%)" not in result.stdout
    assert "dikirim ke [Humas Pemkot Surakarta]" in result.stdout
    assert re.search(r"Second poll.*not modified: 3, failed: 0; new articles: 0; alerts queued: 0", result.stdout)


def test_console_mode_polls_and_prints_alerts(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.route("/rss", body=RSS)
    env = {"PANTAU_DB": str(tmp_path / "p.db"), "PANTAU_POLL_INTERVAL": "1"}
    pantau("feeds", "add", feed_server.url("/rss"), "--full-text", "never", env=env)
    base = clean_environ()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env={**base, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        assert process.stdout is not None
        for line in process.stdout:  # bounded: the process is killed by the finally clause at the latest
            lines.append(line)
            if " WIB" in line:  # the source line ("… WIB", maybe "(N hari lalu)") closes the alert's header
                break
        text = "".join(lines)
        assert "Banjir Rendam Ratusan Rumah di Sragen" in text
        assert "Wilayah: Kabupaten Sragen, Jawa Tengah" in text
        assert "Sentimen: Negatif" in text
        assert "Kasus: Banjir" in text
        assert "Warta Uji · 17 Des 2024 08.00 WIB" in text
    finally:
        process.terminate()
        process.wait(timeout=10)
    # Nothing but the bundled list would have been polled had no feed been configured; here one feed was.
    assert len(feed_server.requests_to("/rss")) >= 1


def test_eval_text_modes(tmp_path: Path) -> None:
    rec = (
        '{"id": "e1", "title": "Kebakaran Hanguskan Pasar", "body": "KLATEN - Api melalap kios di Klaten.", '
        '"labels": {"city": "Kabupaten Klaten", "cases": ["kebakaran"], "sentiment": "negative"}}\n'
    )
    path = tmp_path / "mini.jsonl"
    path.write_text(rec, encoding="utf-8")
    full = pantau("eval", str(path), "--text", "full")
    assert full.returncode == 0 and "text: full" in full.stdout and "city accuracy      1.000" in full.stdout
    title = pantau("eval", str(path), "--text", "title")
    assert title.returncode == 0 and "text: title" in title.stdout and "city accuracy      0.000" in title.stdout
    teaser = pantau("eval", str(path), "--text", "teaser:5")
    assert teaser.returncode == 0 and "text: teaser:5" in teaser.stdout
    bad = pantau("eval", str(path), "--text", "teaser:0")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "teaser:N" in bad.stderr
    no_field = pantau("eval", str(path), "--text", "teaser")
    assert no_field.returncode == 2 and 'no "teaser" field' in no_field.stderr
