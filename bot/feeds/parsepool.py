"""Feed parsing in worker processes under a time budget, so one hostile document cannot burn minutes.

feedparser's strict parser is quadratic in the number of XML attributes on one element: an item with
40,000 attributes (429 KB) takes 17 s, 300,000 attributes over 14 minutes, and a thread cannot be stopped.
So every parse runs in one of a few long-lived worker processes; a parse that is not done within its
budget gets its worker killed (and a fresh one started), and the feed fails with `ParseError`, which the
poller records and backs off like any other feed failure.

The workers are started once per process (a fork server, so they do not inherit the event loop or open
sockets) and reused for every parse: the cost per parse is one round trip of the body and the parsed
items through a pipe, not a process start.
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import os
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Final

from bot.errors import ParseError
from bot.feeds.parser import ParsedFeed, parse_feed

# A normal feed parses in well under a second (about 25 ms per 100 items; a 5 MB feed in ~2 s).
DEFAULT_BUDGET: Final = 10.0
# Half the cores (one on a 2-core machine): the poller's own process classifies and stores meanwhile, and
# each worker costs ~30-40 MB of memory.
DEFAULT_WORKERS: Final = max(1, min(4, (os.cpu_count() or 2) // 2))


def _serve(conn: Connection) -> None:
    """The worker's loop: (body, url, content_type) in, ("ok", ParsedFeed) or ("error", message) out."""
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when workers end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            body, url, content_type = conn.recv()
        except (EOFError, OSError):
            return  # the parent went away
        try:
            reply: tuple[str, object] = ("ok", parse_feed(body, url=url, content_type=content_type))
        except ParseError as exc:
            reply = ("parse_error", str(exc))
        except Exception as exc:  # a feedparser bug on a strange document: still only this feed's failure
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except OSError:  # the parent was killed mid-parse (SIGKILL): nobody is waiting, end quietly
            return


@dataclass(slots=True)
class _Worker:
    process: BaseProcess
    conn: Connection

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class ParsePool:
    """A fixed number of parser processes; `parse` waits for an idle one, so at most `workers` parse at once."""

    def __init__(self, workers: int = DEFAULT_WORKERS, budget: float = DEFAULT_BUDGET) -> None:
        self.size = workers
        self.budget = budget
        self._context = multiprocessing.get_context("forkserver")
        self._idle: list[_Worker] = []
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._available = threading.Semaphore(workers)
        self.killed = 0  # parses stopped for running over budget (for tests and logs)

    def _start_worker(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(child,), name="pantau-parser", daemon=True)
        process.start()
        child.close()
        worker = _Worker(process, parent)
        with self._lock:
            self._all.append(worker)
        return worker

    def _take(self) -> _Worker:
        self._available.acquire()
        with self._lock:
            if self._idle:
                return self._idle.pop()
        try:
            return self._start_worker()
        except BaseException:
            self._available.release()
            raise

    def _give_back(self, worker: _Worker | None) -> None:
        with self._lock:
            if worker is not None:
                self._idle.append(worker)
        self._available.release()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)

    def parse_blocking(
        self, body: bytes, *, url: str, content_type: str | None, budget: float | None = None
    ) -> ParsedFeed:
        """Parse in a worker; ParseError when the document is not a feed or the budget runs out."""
        limit = self.budget if budget is None else budget
        worker = self._take()
        keep: _Worker | None = None
        try:
            try:
                worker.conn.send((body, url, content_type))
                done = worker.conn.poll(limit)
                reply = worker.conn.recv() if done else None
            except (EOFError, OSError) as exc:
                self._discard(worker)
                raise ParseError(f"the parser process died ({type(exc).__name__})") from None
            if reply is None:
                self._discard(worker)
                self.killed += 1
                raise ParseError(f"parsing took longer than {limit:g} s (a pathological document?); stopped")
            keep = worker
        finally:
            self._give_back(keep)
        kind, value = reply
        if kind == "ok":
            assert isinstance(value, ParsedFeed)
            return value
        if kind == "parse_error":
            raise ParseError(str(value))
        raise ParseError(f"parser failed: {value}")

    async def parse(
        self, body: bytes, *, url: str, content_type: str | None, budget: float | None = None
    ) -> ParsedFeed:
        """`parse_blocking` off the event loop."""
        return await asyncio.to_thread(self.parse_blocking, body, url=url, content_type=content_type, budget=budget)

    def worker_pids(self) -> list[int]:
        """The live workers' process ids (benchmarks add their CPU time and memory to the poller's)."""
        with self._lock:
            return [w.process.pid for w in self._all if w.process.pid is not None]

    def close(self) -> None:
        with self._lock:
            workers, self._all, self._idle = self._all, [], []
        for worker in workers:
            worker.kill()


_default: ParsePool | None = None
_default_lock = threading.Lock()


def default_pool() -> ParsePool:
    """The process-wide pool (started on first use, its workers ended at interpreter exit)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ParsePool()
            atexit.register(_default.close)
        return _default


async def parse_with_budget(
    body: bytes, *, url: str, content_type: str | None, budget: float | None = None
) -> ParsedFeed:
    """Parse a fetched feed in the default pool; ParseError when it is not a feed or runs over budget."""
    return await default_pool().parse(body, url=url, content_type=content_type, budget=budget)
