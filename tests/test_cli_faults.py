"""Bad input and bad surroundings at the command line: one line on stderr and exit 2, never a traceback.

Each case was a traceback (or a silent wrong start) before; issue #12 items 13, 14 and 16.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.feed_server import FeedServer
from tests.test_cli import pantau

TOKEN = "123456:AAH-the-secret-part-of-the-token"


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'PANTAU_POLL_INTERVAL=60\nPANTAU_DB="other.db\nPANTAU_LOG_LEVEL=DEBUG\n', ".env line 2"),
        (b"PANTAU_DB=caf\xe9.db\n", ".env line 1: not UTF-8"),
        (b"PANTAU_DB=p.db\x00\n", ".env line 1: contains a NUL"),
    ],
)
def test_unreadable_env_file_stops_start_up_with_the_line(tmp_path: Path, content: bytes, expected: str) -> None:
    (tmp_path / ".env").write_bytes(content)
    result = pantau("feeds", "list", cwd=tmp_path)
    assert result.returncode == 2
    assert expected in one_line(result.stderr)
    # Nothing ran on defaults: no fresh ./pantau.db was created.
    assert not (tmp_path / "pantau.db").exists()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PANTAU_POLL_INTERVAL", "100000000000000000000000"),
        ("PANTAU_SEND_RATE", "1e-300"),
        ("TELEGRAM_API_BASE_URL", "http://"),
        ("TELEGRAM_API_BASE_URL", "https://api.telegram.org"),
    ],
)
def test_out_of_range_settings_are_refused(tmp_path: Path, variable: str, value: str) -> None:
    result = pantau("run", env={"PANTAU_DB": str(tmp_path / "p.db"), "TELEGRAM_BOT_TOKEN": TOKEN, variable: value})
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert variable in line
    assert "the-secret-part" not in result.stderr + result.stdout


def test_db_path_that_is_a_directory(tmp_path: Path) -> None:
    result = pantau("run", env={"PANTAU_DB": str(tmp_path)}, timeout=30)
    assert result.returncode == 2
    assert "PANTAU_DB" in one_line(result.stderr)


def test_db_path_with_tilde_is_expanded(tmp_path: Path) -> None:
    result = pantau("feeds", "list", env={"PANTAU_DB": "~/p.db", "HOME": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p.db").exists() and not (tmp_path / "~").exists()


def test_run_where_no_file_can_be_created(tmp_path: Path) -> None:
    # /proc refuses new files even to root, so this holds however the tests are run.
    result = pantau("run", env={"PANTAU_DB": "/proc/pantau-test.db"}, timeout=30, cwd=tmp_path)
    assert result.returncode in (1, 2)
    assert "/proc/pantau-test.db" in one_line(result.stderr)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_run_in_a_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = pantau("run", env={"PANTAU_DB": str(folder / "p.db")}, timeout=30)
    finally:
        folder.chmod(0o755)
    assert result.returncode == 2
    assert "not writable" in one_line(result.stderr)


@pytest.mark.parametrize("value", ["1e20", "100000000000000000000", "-1"])
def test_backfill_out_of_range(tmp_path: Path, value: str) -> None:
    result = pantau(
        "feeds", "add", "https://warta.example/rss", f"--backfill={value}", env={"PANTAU_DB": str(tmp_path / "p.db")}
    )
    assert result.returncode == 2
    assert "--backfill" in one_line(result.stderr)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"not json\n", "line 1: not valid JSON"),
        (b'{"id": 1, "labels": {}}\n[1, 2]\n', "line 2: expected a JSON object"),
        (b"\xff\xfe\n", "not UTF-8"),
    ],
)
def test_eval_on_a_file_that_is_not_labelled_json(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    result = pantau("eval", str(path))
    assert result.returncode == 2
    assert expected in one_line(result.stderr)


def test_opml_with_100000_nested_outlines(tmp_path: Path) -> None:
    depth = 100_000
    inner = '<outline xmlUrl="https://deep.example/rss" text="Deep"/>'
    path = tmp_path / "deep.opml"
    path.write_text(
        '<opml version="2.0"><body>' + "<outline>" * depth + inner + "</outline>" * depth + "</body></opml>"
    )
    env = {"PANTAU_DB": str(tmp_path / "p.db")}
    result = pantau("feeds", "import", str(path), env=env)
    assert result.returncode == 0, result.stderr[-500:]
    assert "imported 1" in result.stdout


def test_malformed_json_from_get_me(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.route(f"/bot{TOKEN}/getMe", body=b'{"ok": true, "result": {"id": 1', content_type="application/json")
    env = {
        "PANTAU_DB": str(tmp_path / "p.db"),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": feed_server.url("/bot"),
    }
    result = pantau("run", env=env, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "did not answer like a Bot API" in result.stderr.strip().splitlines()[-1]
    assert "the-secret-part" not in result.stderr
