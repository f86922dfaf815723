"""Benchmark: fetch -> parse -> normalize over 300 feeds of 50 items served on loopback.

    .venv/bin/python benchmarks/fetch_bench.py [--feeds 300] [--items 50] [--no-trace]

Generates the feeds in memory (RSS 2.0, ~2 KB of HTML an item, typographic quotes),
serves them from a ThreadingHTTPServer on 127.0.0.1, writes a sources.yaml for them
into a temporary folder and runs ``digest.build.collect`` on it (fetch_all, then
parse_feed and normalize per source: for this many sources in this process and in one
worker process per other core).
Prints wall time, items, and peak memory: ru_maxrss of the timed run, and the tracemalloc peak of a second,
traced run (tracemalloc slows Python several times over, so it is not timed).
Target on 2 cores: under 15 s and 500 MB; the exit code says whether it was met.
"""

from __future__ import annotations

import argparse
import http.server
import random
import resource
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

import yaml

from digest.build import collect
from digest.config import load_config
from digest.store import Store

WORDS = (
    "model data chip lab open agent launch billion research policy court safety robot video "
    "image startup funding investors cloud training inference benchmark release regulators "
    "lawsuit partnership developers users search health school energy compute company’s "
    "“agentic” — café naïve"
).split()
TARGET_SECONDS, TARGET_MB = 15.0, 500


def generate_feed(number: int, items: int) -> bytes:
    """An RSS 2.0 feed of ``items`` items with ~2 KB of HTML each (typographic quotes too)."""
    rnd = random.Random(number)
    newest = datetime(2025, 6, 14, 9, tzinfo=UTC)
    site = f"https://site{number}.example"
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
        f"<title>Feed {number}</title><link>{site}/</link><description>Feed {number}</description>"
    ]
    for index in range(items):
        words = [rnd.choice(WORDS) for _ in range(240)]
        body = (
            f"<p>{' '.join(words[:120]).capitalize()}.</p>"
            f'<p><a href="/story/{index}?utm_source=rss">Read more</a> '
            f'<img src="{site}/img/{index}.jpg" alt=""> {" ".join(words[120:])}.</p>'
        )
        title = " ".join(rnd.choice(WORDS) for _ in range(9)).capitalize()
        parts.append(
            f"<item><title>{escape(title)} #{number}-{index}</title>"
            f"<link>{site}/story/{index}?utm_source=rss&amp;utm_medium=feed</link>"
            f'<guid isPermaLink="false">{number}-{index}</guid>'
            f"<pubDate>{format_datetime(newest - timedelta(minutes=9 * index + number))}</pubDate>"
            f'<media:content url="{site}/img/{index}.jpg" medium="image"/>'
            f"<description>{escape(body)}</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def serve(feeds: dict[str, bytes]) -> http.server.ThreadingHTTPServer:
    """Serve ``feeds`` (path -> body) on a free loopback port, in a background thread."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            body = feeds.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body or b"")))
            self.send_header("ETag", f'"{hash(self.path)}"')
            self.end_headers()
            self.wfile.write(body or b"")

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 512

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run(sources: Path, state: Path, traced: bool) -> tuple[float, float, int, list, int]:
    """One cold run (empty state) of ``digest.build.collect``: wall and fetch seconds,
    items, failures, traced peak."""
    config = load_config(sources)
    fetched: list[float] = []
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    with Store(state) as store:
        items, stats = collect(config, store, on_fetched=lambda _: fetched.append(time.perf_counter()))
    wall = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    tracemalloc.stop()
    failed = [(f.source, f.error) for f in stats.feeds_failed]
    return wall, max(fetched) - started, len(items), failed, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc run")
    args = parser.parse_args()

    feeds = {f"/feed/{n}.xml": generate_feed(n, args.items) for n in range(args.feeds)}
    server = serve(feeds)
    port = server.server_address[1]
    size = sum(map(len, feeds.values())) / 1e6
    print(f"{len(feeds)} feeds x {args.items} items, {size:.1f} MB, served on 127.0.0.1:{port}")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory() as folder:
        sources = Path(folder) / "sources.yaml"
        config = {
            "newsletter": {"name": "Benchmark"},
            # the feeds of 300 sites, all served by this one server: one host's limit is not theirs
            "fetch": {"per_host": 16},
            "sources": [
                {"name": f"Feed {n}", "url": f"http://127.0.0.1:{port}{path}", "max_items": args.items}
                for n, path in enumerate(feeds)
            ],
        }
        sources.write_text(yaml.safe_dump(config), encoding="utf-8")
        # Timed without tracemalloc (it slows allocation-heavy code several times over).
        wall, fetch, items, failed, _ = run(sources, Path(folder) / "timed.sqlite", traced=False)
        rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rss_workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        traced = 0
        if not args.no_trace:  # tracemalloc sees this process only, not the parse workers
            traced = run(sources, Path(folder) / "traced.sqlite", traced=True)[4]
    server.shutdown()
    print(f"wall time: {wall:.2f} s (fetching done after {fetch:.2f} s; then parse and normalize)")
    print(f"items: {items}  feeds failed: {len(failed)}")
    print(f"peak RSS (ru_maxrss): {rss_peak:.0f} MB, of which {rss_before:.0f} MB before the run")
    print(f"peak RSS of a parse worker process: {rss_workers:.0f} MB")
    if traced:
        print(f"tracemalloc peak (a second, traced run): {traced / 1e6:.0f} MB")
    for name, error in failed[:5]:
        print(f"  failed: {name}: {error}")
    ok = wall < TARGET_SECONDS and rss_peak < TARGET_MB and not failed
    print(f"target (< {TARGET_SECONDS:g} s, < {TARGET_MB} MB, no failure):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
