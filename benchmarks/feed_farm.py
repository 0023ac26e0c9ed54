"""A loopback feed farm: N RSS feeds spread over many 127.x addresses, each answer delayed like a real RTT.

    python -m benchmarks.feed_farm --feeds 6000 --hosts 50 --delay 0.05

Prints ``READY <port>`` once every address listens, then serves until stdin closes. It runs in its own
process so its CPU is never counted against the poller.

- Feed ``n`` lives at ``http://127.0.0.<2 + n % hosts>:<port>/feed/<n>`` and always holds 20 items.
- Feed ``n`` at generation ``g`` holds items ``2g … 2g+19`` (newest first); its ETag is ``"n-g"``, and a
  request whose If-None-Match equals it gets 304. ``POST /_advance {"feeds": [...]}`` bumps the listed
  feeds one generation, i.e. publishes 2 new items in each (the two oldest fall off).
- Every /feed request sleeps `delay` seconds before answering (a simulated network round trip).
- ``GET /_stats`` returns request counters; ``POST /_stats`` resets them.
- ``--page-share F`` (default 0): that share of items (chosen per item, deterministically) carry only a
  teaser ("…") and link to an article page on the farm, ``/page/<n>/<k>`` on the feed's own host, built
  like a real portal page (menus, "Baca juga", "Terpopuler", footer; about 50 KB) and delayed like a feed.
  The other items carry a full ~450-character description, which Pantau's `auto` mode reads as is.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from aiohttp import web

from benchmarks.common import article_text, city_names

ITEMS_PER_FEED = 20
NEW_PER_ADVANCE = 2
_BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)


def host_of(n: int, hosts: int) -> str:
    return f"127.0.0.{2 + n % hosts}"


def feed_url(n: int, port: int, hosts: int) -> str:
    return f"http://{host_of(n, hosts)}:{port}/feed/{n}"


def item_guid(n: int, k: int) -> str:
    return f"feed{n}-item{k}"


def item_link(n: int, k: int) -> str:
    # utm_* and the fragment are stripped by dedup_key, as for real feeds
    return f"https://portal{n % 97}.example/berita/{n}/{k}/judul-berita?utm_source=rss#top"


def item_seed(n: int, k: int) -> int:
    return n * 1_000_003 + k


def item_ks(gen: int) -> range:
    """Item numbers present at a generation, newest first."""
    top = NEW_PER_ADVANCE * gen + ITEMS_PER_FEED - 1
    return range(top, top - ITEMS_PER_FEED, -1)


def etag_of(n: int, gen: int) -> str:
    return f'"{n}-{gen}"'


def needs_page(n: int, k: int, share: float) -> bool:
    """Whether item k of feed n is a teaser whose page lives on the farm (about `share` of all items)."""
    return share > 0 and random.Random(item_seed(n, k) * 7 + 1).random() < share


def page_url(n: int, k: int, port: int, hosts: int) -> str:
    return f"http://{host_of(n, hosts)}:{port}/page/{n}/{k}"


def teaser_of(body: str) -> str:
    cut = body[:150]
    return cut[: cut.rfind(" ")] + " ..."


_MENU = ("Solo", "Sukoharjo", "Klaten", "Boyolali", "Sragen", "Karanganyar", "Wonogiri", "Semarang", "Jepara")
_SECTIONS = ("Nasional", "Daerah", "Ekonomi", "Olahraga", "Hiburan", "Otomotif", "Tekno", "Gaya Hidup", "Wisata")


def render_page(n: int, k: int) -> bytes:
    """The article page of item k: the story (~1,700 characters) inside a portal's furniture (~50 KB)."""
    title, _, _ = article_text(item_seed(n, k))
    _, long_body, _ = article_text(item_seed(n, k), body_words=240)
    words = long_body.split()
    paragraphs = [" ".join(words[i : i + 40]) for i in range(0, len(words), 40)]
    rng = random.Random(item_seed(n, k))
    towns = [name for _, name in rng.sample(city_names(), 60)]
    menu = "".join(f'<li><a href="/kanal/{t.lower()}">{t}</a></li>' for t in (*_MENU, *_SECTIONS))
    more_menu = "".join(f'<li><a href="/daerah/{i}">{t}</a></li>' for i, t in enumerate(towns))
    others = [article_text(item_seed(n, k) + 1000 + i)[0] for i in range(60)]
    body = []
    for i, paragraph in enumerate(paragraphs):
        body.append(f"<p>{escape(paragraph)}</p>")
        if i == 1:
            body.append(f'<div class="baca-juga"><b>Baca juga:</b> <a href="/b/{i}">{escape(others[0])}</a></div>')
            body.append(f'<p><strong>Baca Juga:</strong> <a href="/b/x">{escape(others[1])}</a></p>')
    popular = "".join(f'<li><a href="/p/{i}">{escape(t)}</a></li>' for i, t in enumerate(others[2:12]))
    cards = "".join(
        f'<div class="card"><a href="/c/{i}"><img src="/i/{i}.jpg" alt=""><h4>{escape(t)}</h4></a>'
        f"<span>{i + 1} jam lalu</span></div>"
        for i, t in enumerate(others[12:])
    )
    script = "var cfg = {" + ",".join(f'"k{i}": "{"v" * 40}"' for i in range(500)) + "};"
    html = (
        f'<!DOCTYPE html><html lang="id"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta property="og:title" content="{escape(title)}"><script>{script}</script></head><body>'
        f'<header><nav class="menu"><ul>{menu}</ul><ul class="more">{more_menu}</ul></nav></header>'
        f'<main><article><h1>{escape(title)}</h1><div class="meta">Penulis: Redaksi | 1 Jan 2025 08:00 WIB</div>'
        f'<div class="content">{"".join(body)}</div><div class="tags">Tag: berita, daerah</div></article>'
        f'<aside class="sidebar"><h3>Terpopuler</h3><ol>{popular}</ol></aside>'
        f'<section class="lainnya"><h3>Berita Lainnya</h3>{cards}</section></main>'
        f"<footer><p>Portal Berita {n} | Redaksi | Pedoman Media Siber | Kontak</p></footer></body></html>"
    )
    return html.encode()


def render(
    n: int, gen: int, *, port: int = 0, hosts: int = 50, page_share: float = 0.0, item_minutes: float = 1.0
) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>',
        f"<title>Portal Berita {n}</title><link>https://portal{n % 97}.example/</link>",
        "<description>Berita daerah</description><language>id</language>",
    ]
    for k in item_ks(gen):
        title, body, _ = article_text(item_seed(n, k))
        link = item_link(n, k)
        if needs_page(n, k, page_share):
            body, link = teaser_of(body), page_url(n, k, port, hosts)
        published = format_datetime(_BASE_TIME + timedelta(minutes=k * item_minutes), usegmt=True)
        parts.append(
            f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{item_guid(n, k)}</guid><pubDate>{published}</pubDate>'
            f"<description>{escape(body)}</description></item>"
        )
    parts.append("</channel></rss>\n")
    return "".join(parts).encode()


class Farm:
    def __init__(
        self, feeds: int, delay: float, hosts: int = 50, page_share: float = 0.0, item_minutes: float = 1.0
    ) -> None:
        self.feeds = feeds
        self.item_minutes = item_minutes  # publication time between a feed's consecutive items
        self.delay = delay
        self.hosts = hosts
        self.page_share = page_share
        self.port = 0  # known once listening; page links name it
        self.gen = [0] * feeds
        self._cache: dict[int, tuple[int, bytes]] = {}
        self.stats = {"requests": 0, "ok": 0, "not_modified": 0, "pages": 0, "page_bytes": 0}

    def body(self, n: int) -> bytes:
        gen = self.gen[n]
        hit = self._cache.get(n)
        if hit is None or hit[0] != gen:
            hit = self._cache[n] = (
                gen,
                render(
                    n, gen, port=self.port, hosts=self.hosts, page_share=self.page_share, item_minutes=self.item_minutes
                ),
            )
        return hit[1]

    async def page(self, request: web.Request) -> web.Response:
        n, k = int(request.match_info["n"]), int(request.match_info["k"])
        if not 0 <= n < self.feeds:
            raise web.HTTPNotFound()
        await asyncio.sleep(self.delay)
        body = render_page(n, k)
        self.stats["pages"] += 1
        self.stats["page_bytes"] += len(body)
        return web.Response(body=body, headers={"Content-Type": "text/html; charset=utf-8"})

    async def feed(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if not 0 <= n < self.feeds:
            raise web.HTTPNotFound()
        self.stats["requests"] += 1
        await asyncio.sleep(self.delay)
        etag = etag_of(n, self.gen[n])
        if request.headers.get("If-None-Match") == etag:
            self.stats["not_modified"] += 1
            return web.Response(status=304, headers={"ETag": etag})
        self.stats["ok"] += 1
        return web.Response(
            body=self.body(n), headers={"ETag": etag, "Content-Type": "application/rss+xml; charset=utf-8"}
        )

    async def advance(self, request: web.Request) -> web.Response:
        data = await request.json()
        for n in data["feeds"]:
            self.gen[n] += 1
        return web.json_response({"advanced": len(data["feeds"])})

    async def get_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats)

    async def reset_stats(self, request: web.Request) -> web.Response:
        self.stats = dict.fromkeys(self.stats, 0)
        return web.json_response(self.stats)


async def serve(
    feeds: int, hosts: int, delay: float, port: int, page_share: float = 0.0, item_minutes: float = 1.0
) -> None:
    farm = Farm(feeds, delay, hosts, page_share, item_minutes)
    app = web.Application()
    app.router.add_get("/feed/{n}", farm.feed)
    app.router.add_get("/page/{n}/{k}", farm.page)
    app.router.add_post("/_advance", farm.advance)
    app.router.add_get("/_stats", farm.get_stats)
    app.router.add_post("/_stats", farm.reset_stats)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    first = web.TCPSite(runner, host_of(0, hosts), port, backlog=4096)
    await first.start()
    port = first._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    farm.port = port
    for h in range(1, hosts):
        await web.TCPSite(runner, host_of(h, hosts), port, backlog=4096).start()
    print(f"READY {port}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # parent closes stdin (or dies): stop
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=6000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--page-share", type=float, default=0.0)
    parser.add_argument("--item-minutes", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(serve(args.feeds, args.hosts, args.delay, args.port, args.page_share, args.item_minutes))


class FarmProcess:
    """Start the farm in a child process: ``with FarmProcess(6000) as farm: farm.url(n)``."""

    def __init__(
        self, feeds: int, hosts: int = 50, delay: float = 0.05, page_share: float = 0.0, item_minutes: float = 1.0
    ) -> None:
        self.feeds, self.hosts, self.delay, self.page_share = feeds, hosts, delay, page_share
        self.item_minutes = item_minutes
        self.port = 0
        self._proc = None

    def __enter__(self) -> FarmProcess:
        import os
        import subprocess

        from benchmarks.common import PYTHON, ROOT

        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self._proc = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "benchmarks.feed_farm",
                "--feeds",
                str(self.feeds),
                "--hosts",
                str(self.hosts),
                "--delay",
                str(self.delay),
                "--page-share",
                str(self.page_share),
                "--item-minutes",
                str(self.item_minutes),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self._proc.stdout.readline()  # type: ignore[union-attr]
        if not line.startswith("READY "):
            self._proc.kill()
            raise RuntimeError(f"feed farm did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc is not None
        self._proc.stdin.close()  # type: ignore[union-attr]
        try:
            self._proc.wait(timeout=10)
        except Exception:
            self._proc.kill()

    @property
    def control(self) -> str:
        return f"http://{host_of(0, self.hosts)}:{self.port}"

    def url(self, n: int) -> str:
        return feed_url(n, self.port, self.hosts)


def advance(control: str, feeds: list[int]) -> None:
    """Publish 2 new items in each listed feed (sync; used between cycles, outside any measurement)."""
    import httpx

    httpx.post(f"{control}/_advance", json={"feeds": feeds}, timeout=30).raise_for_status()


def stats(control: str, reset: bool = False) -> dict:
    import httpx

    if reset:
        return httpx.post(f"{control}/_stats", timeout=30).json()
    return httpx.get(f"{control}/_stats", timeout=30).json()


if __name__ == "__main__":
    main()
