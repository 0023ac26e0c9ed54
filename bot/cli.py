"""The `pantau` command line: argument parsing and exit codes only; the work lives in bot/ and storage/.

Every expected failure becomes one line on stderr and a non-zero exit (2 for bad configuration, usage or
input file, 1 for a failed operation); tracebacks are for bugs.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from bot.config import Settings, read_env_file
from bot.errors import ConfigError, DatabaseReplacedError, InputError, PantauError

if TYPE_CHECKING:
    from bot.runtime.roles import Role

logger = logging.getLogger("pantau")


def load_settings(env_file: Path = Path(".env")) -> Settings:
    """Environment variables win over a .env file in the working directory."""
    values: dict[str, str] = {}
    if env_file.is_file():
        values.update(read_env_file(env_file))
    values.update(os.environ)
    return Settings.from_env(values)


def configure_logging(level: int) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # httpx logs every request URL at INFO, and Bot API URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # aiosqlite's DEBUG lines quote every statement's parameters: feed URLs with their credentials, whole
    # articles. PANTAU_LOG_LEVEL=DEBUG is for Pantau's own decisions, not for that.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2) pointing at --help, like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


MAX_BACKFILL = 1000


def _backfill(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number 0..{MAX_BACKFILL}, got {text!r}") from None
    if not 0 <= value <= MAX_BACKFILL:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_BACKFILL}, got {text}")
    return value


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pantau",
        description="Pantau: monitors Indonesian news feeds and alerts Telegram chats by Kab/Kota, kasus "
        "and sentimen. Configuration comes from environment variables or .env (see .env.example).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser(
        "run",
        help="run the service: Telegram bot, poller and delivery (console mode without TELEGRAM_BOT_TOKEN)",
    )
    run.add_argument(
        "--role",
        choices=("all", "bot", "poller", "sender"),
        default="all",
        help="all (default): everything in this process; bot, poller or sender: that part alone, beside "
        "other pantau processes on a shared PostgreSQL database (README: Scaling out)",
    )
    poll = sub.add_parser("poll", help="poll due feeds and print a summary line")
    poll.add_argument("--once", action="store_true", help="one cycle over all feeds, then exit")

    feeds = sub.add_parser("feeds", help="manage the feeds to poll")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)
    add = feeds_sub.add_parser("add", help="add a feed URL")
    add.add_argument("url")
    add.add_argument("--name", help="display name (default: the feed's own title)")
    add.add_argument("--city", help='default Kab/Kota of a regional feed, e.g. "Kota Surakarta"')
    add.add_argument(
        "--backfill",
        type=_backfill,
        default=0,
        metavar="N",
        help="alert the newest N items of the first poll (default 0: the first poll alerts nobody)",
    )
    full_text_help = (
        "read each new article's page and classify its full text: auto (only when the feed gives a teaser: "
        "under 400 characters or cut off), always, never (default: auto)"
    )
    add.add_argument("--full-text", choices=("auto", "always", "never"), default="auto", help=full_text_help)
    feeds_sub.add_parser("list", help="show feeds with status, errors, last and next poll")
    set_ = feeds_sub.add_parser("set", help="change a feed's settings")
    set_.add_argument("feed", metavar="ID|URL")
    set_.add_argument("--full-text", choices=("auto", "always", "never"), required=True, help=full_text_help)
    remove = feeds_sub.add_parser("remove", help="remove a feed by id or URL")
    remove.add_argument("feed", metavar="ID|URL")
    imp = feeds_sub.add_parser("import", help="add every feed of an OPML file")
    imp.add_argument("file", type=Path)
    export = feeds_sub.add_parser("export", help="print all feeds as OPML 2.0 (credentials in URLs masked)")
    export.add_argument(
        "--with-secrets",
        action="store_true",
        help="keep passwords and key-like query parameters (api_key=, token=, …) in the URLs",
    )

    sub.add_parser("demo", help="offline demo: bundled feeds on a loopback server, alerts printed")

    cls = sub.add_parser("classify", help="classify JSON lines ({id,title,body,source?}) to JSON lines")
    cls.add_argument("file", nargs="?", default="-", help="input file, or - for standard input (default)")
    ev = sub.add_parser("eval", help="measure the classifier on a labelled JSONL file")
    ev.add_argument("file", type=Path)
    ev.add_argument(
        "--text",
        default="full",
        metavar="MODE",
        help="what the classifier sees: full (title + body, default), teaser:N (title + the first N "
        "characters of the body), teaser (title + the record's teaser field) or title",
    )

    clu = sub.add_parser(
        "cluster",
        help="group JSON lines ({id,title,body,published,outlet}, in time order) into stories: {id,story} lines",
    )
    clu.add_argument("file", help="input file, or - for standard input")
    evs = sub.add_parser(
        "eval-stories", help="B-cubed precision/recall/F1 of the story grouping on records with a gold 'story'"
    )
    evs.add_argument("file", help="input file, or - for standard input")
    evs.add_argument(
        "--text",
        default="body",
        metavar="FIELD",
        help="record field used as the article text (default body; e.g. teaser to measure a teaser-only feed)",
    )
    st = sub.add_parser("stories", help="list recent stories: title, outlets, places, cases, time")
    st.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    st.add_argument("--hours", type=float, help="only stories with a report in the last N hours")

    fb = sub.add_parser("feedback", help="analysts' label corrections: export as a labelled set, statistics")
    fb_sub = fb.add_subparsers(dest="feedback_command", metavar="ACTION", required=True)
    exp = fb_sub.add_parser(
        "export", help="corrected articles as labelled JSON lines (dev-set format, for pantau eval)"
    )
    exp.add_argument("--trusted", action="store_true", help="only corrections by group admins and PANTAU_ADMIN_IDS")
    exp.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of standard output")
    fb_sub.add_parser("stats", help="corrections per field (7/30 days), share of alerts corrected, what to fix next")

    dbp = sub.add_parser("db", help="database maintenance: copy an SQLite installation into PostgreSQL")
    db_sub = dbp.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    cp = db_sub.add_parser(
        "copy", help="copy every table of an SQLite file into a PostgreSQL database (ids kept; safe to re-run)"
    )
    cp.add_argument("source", metavar="SQLITE_PATH")
    cp.add_argument("target", metavar="POSTGRESQL_URL")

    art = sub.add_parser("export", help="stored articles of a period as CSV (UTF-8 with BOM), XLSX or JSON lines")
    art.add_argument("--since", default="7d", help="how far back: 7d, 30d, 24h … (default 7d)")
    art.add_argument("--city", action="append", default=[], help="Kab/Kota or province, any alias; repeatable")
    art.add_argument("--case", action="append", default=[], help="case key or everyday word; repeatable")
    art.add_argument("--format", choices=("csv", "xlsx", "jsonl"), default="csv")
    art.add_argument("--zone", choices=("WIB", "WITA", "WIT"), default="WIB", help="time zone of the times")
    art.add_argument("-o", "--output", type=Path, help="file to write (default: standard output; xlsx needs one)")
    return parser


def _read_lines(name: str) -> list[str]:
    if name == "-":
        return sys.stdin.read().splitlines()
    try:
        return Path(name).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"cannot read {name}: not UTF-8 text") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(f"pantau: configuration error: {exc}", file=sys.stderr)
        return 2
    except InputError as exc:  # bad usage: a file that is not what the command takes, a bad URL, …
        print(f"pantau: {exc}", file=sys.stderr)
        return 2
    except DatabaseReplacedError as exc:  # refused, nothing written: the operator must act first
        print(f"pantau: {exc}", file=sys.stderr)
        return 2
    except PantauError as exc:
        print(f"pantau: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `pantau demo | head`: the reader left; say nothing more and don't trip over stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:  # a file we must create or write cannot be (read-only folder, /proc, …)
        where = f" {exc.filename}" if exc.filename else ""
        print(f"pantau: cannot write{where}: {exc.strerror or exc}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    # Commands that need no configuration come first, so a bad .env cannot break them.
    if args.command == "classify":
        from bot.classify.evaluation import classify_jsonl

        if args.file == "-":
            return classify_jsonl(sys.stdin, sys.stdout, sys.stderr)
        path = Path(args.file)
        try:
            with path.open(encoding="utf-8") as infile:
                return classify_jsonl(infile, sys.stdout, sys.stderr)
        except OSError as exc:
            raise PantauError(f"cannot read {path}: {exc.strerror}") from None
    if args.command == "eval":
        from bot.classify.evaluation import TextMode, evaluate_file, format_report

        try:
            mode = TextMode.parse(args.text)
        except ValueError as exc:
            print(f"pantau: {exc}", file=sys.stderr)
            return 2
        if not args.file.is_file():
            raise PantauError(f"cannot read {args.file}: no such file")
        print(format_report(evaluate_file(args.file, mode)))
        return 0
    if args.command in ("cluster", "eval-stories"):
        from bot.stories.evaluation import evaluate, format_score, read_reports, write_clusters

        # Bad input (unreadable file, a bad line, no gold labels) is a usage error: exit 2, nothing written.
        try:
            lines = _read_lines(args.file)
            if args.command == "cluster":
                return write_clusters(list(read_reports(lines, source=args.file)), sys.stdout)
            reports = list(read_reports(lines, source=args.file, body_field=args.text))
            score = evaluate(reports)
        except InputError as exc:
            print(f"pantau: {exc}", file=sys.stderr)
            return 2
        print(format_score(score, {r.id: r.title for r in reports}))
        return 0
    if args.command == "demo":
        from bot.runtime.demo import run_demo

        configure_logging(logging.WARNING)
        return asyncio.run(run_demo(sys.stdout))

    settings = load_settings()
    configure_logging(settings.log_level_number)
    if args.command == "run":
        return _run(settings, args.role)
    if args.command == "poll":
        from bot.runtime.console import poll_command

        return asyncio.run(poll_command(settings, once=args.once, out=sys.stdout))
    if args.command == "feeds":
        from bot.runtime import feed_commands

        return asyncio.run(feed_commands.dispatch(settings, args, sys.stdout))
    if args.command == "feedback":
        from bot.runtime import feedback_commands

        try:
            return asyncio.run(feedback_commands.dispatch(settings, args, sys.stdout, sys.stderr))
        except InputError as exc:  # e.g. -o into a folder that does not exist: a usage error
            print(f"pantau: {exc}", file=sys.stderr)
            return 2
    if args.command == "stories":
        from bot.runtime.story_commands import list_stories

        return asyncio.run(list_stories(settings, sys.stdout, limit=args.limit, hours=args.hours))
    if args.command == "db":
        from bot.runtime.db_commands import copy_command

        return copy_command(args.source, args.target, sys.stdout)
    if args.command == "export":
        from bot.runtime.export_command import export_command

        return asyncio.run(export_command(settings, args, sys.stdout, sys.stderr))
    raise AssertionError(f"unhandled command {args.command}")


def _run(settings: Settings, role_name: str = "all") -> int:
    from bot.runtime.roles import Role, check_role
    from bot.runtime.runlock import RunLock

    role = Role(role_name)
    check_role(role, settings)  # before anything is created: a refused role leaves no file behind
    if settings.db_url is not None:
        # PostgreSQL: no file to lock; processes share the server and coordinate through leases.
        return _run_role(settings, role)
    folder = settings.db_path.parent
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        # SQLite needs to create its -wal and -shm files beside the database, and we the lock file.
        raise ConfigError(f"PANTAU_DB: the folder {folder} is not writable")
    with RunLock(settings.db_path):
        return _run_role(settings, role)


def _run_role(settings: Settings, role: Role) -> int:
    from bot.runtime.roles import Role

    if role is Role.POLLER:
        from bot.runtime.roles import run_poller

        return asyncio.run(run_poller(settings))
    if role is Role.SENDER:
        from bot.runtime.telegram_app import run_sender

        return asyncio.run(run_sender(settings))
    if settings.telegram_token is None:
        from bot.runtime.console import run_console

        logger.info("no TELEGRAM_BOT_TOKEN: console mode, alerts are printed here")
        return asyncio.run(run_console(settings, sys.stdout))
    from bot.runtime.telegram_app import run_bot

    run_bot(settings, role)
    return 0
