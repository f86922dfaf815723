"""Benchmark: save-to-reload time of ``digest preview`` for a 30-story issue.

    .venv/bin/python benchmarks/preview_bench.py [--stories 30] [--saves 9]

Writes a newsletter with one local feed of distinct stories into a temporary folder,
starts the preview in-process on a free loopback port and opens it in Debian's Chromium
(Playwright, headless). Each save rewrites the header partial of the newsletter's own
templates folder with a new marker; the time runs from the write to both frames
(desktop and phone) showing the marker, reloaded by the server-sent event alone.
Prints the median, min and max over the saves, and the server-side build time.
Target: median under 1 s; the exit code says whether it was met.

    .venv/bin/python benchmarks/preview_bench.py --idle 1000

instead opens that many idle connections from 127.0.0.2 (another machine, as the
preview sees it: a scan, a slowloris) and prints the threads and file descriptors the
preview holds, how many connections it refused, and the time of the editor's requests.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import yaml
from playwright.sync_api import Page, sync_playwright

from digest.preview import Preview, Status
from digest.render import builtin_templates

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
DAY = date(2025, 6, 14)
GREETING = "<p>{{ newsletter.greeting }}</p>"
TARGET_SECONDS = 1.0
WHO = ["Orbital Labs", "Harbor City", "Quillsoft", "Glacier Trust", "Mosaic Bank", "Tidewater Rail",
       "Juniper Health", "Basalt Mining", "Lumen Opera", "Cobalt Motors", "Fennel Foods", "Argent Air",
       "Pinecrest School", "Sable Games", "Kestrel Drones", "Marrow Bio", "Helix Textiles", "Nimbus Weather",
       "Opal Insurance", "Quarry Press", "Russet Wines", "Summit Hotels", "Tundra Energy", "Umber Studio",
       "Vesper Telecom", "Willow Care", "Xeno Robotics", "Yarrow Farms", "Zephyr Bikes", "Amber Museum",
       "Briar Law", "Cinder Foundry"]  # fmt: skip
WHAT = ["opens a lunar greenhouse", "votes on a tram network", "ships a fountain pen robot",
        "reports record glacier melt", "cuts mortgage fees", "orders forty sleeper cars",
        "trials a malaria vaccine", "closes its oldest copper pit", "stages a robot ballet",
        "recalls ten thousand scooters", "launches a seaweed burger", "adds a polar route",
        "bans phones in class", "delays its racing sequel", "maps coral reefs from above",
        "sequences the axolotl genome", "weaves fabric from nettles", "predicts monsoon onset",
        "covers wildfire smoke damage", "revives a typewriter magazine", "plants vines on volcanic slopes",
        "opens a hotel inside a dam", "builds a geothermal plant", "restores silent films",
        "lays a cable to Iceland", "hires nurses from abroad", "demos a sock-folding arm",
        "harvests saffron indoors", "recycles carbon frames", "returns looted bronzes",
        "sues a parking app", "casts a giant bell"]  # fmt: skip


def write_site(root: Path, stories: int) -> Path:
    """A newsletter with ``stories`` distinct stories in one local feed; its sources.yaml."""
    items = "".join(
        f"<item><title>{WHO[i % len(WHO)]} {WHAT[i % len(WHAT)]}</title>"
        f"<link>https://news.example/{i}</link><guid>https://news.example/{i}</guid>"
        f"<pubDate>Sat, 14 Jun 2025 {i % 24:02d}:00:00 GMT</pubDate>"
        f"<description>Story {i}: {WHO[i % len(WHO)]} {WHAT[i % len(WHAT)]}.</description></item>"
        for i in range(stories)
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>N</title><link>https://news.example/</link>{items}</channel></rss>'
    (root / "feeds").mkdir()
    (root / "feeds" / "news.xml").write_text(feed, encoding="utf-8")
    (root / "templates" / "partials").mkdir(parents=True)
    write_header(root, "Marker 0")
    config = {
        "newsletter": {"name": "Bench Digest"},
        "sections": [{"id": "top-news", "title": "Top news", "max_stories": stories}],
        "sources": [{"name": "News", "path": "feeds/news.xml", "max_items": stories}],
        "templates": "templates",
    }
    (root / "sources.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return root / "sources.yaml"


def write_header(root: Path, marker: str) -> None:
    """Override the header partial: the greeting followed by ``marker``."""
    source = (builtin_templates() / "partials" / "header.mjml").read_text(encoding="utf-8")
    line = "<p>{{ newsletter.greeting }} " + marker + "</p>"
    (root / "templates" / "partials" / "header.mjml").write_text(source.replace(GREETING, line), "utf-8")


SHOWN_JS = """marker => ['desktop', 'phone'].every(id => {
  const doc = document.getElementById(id).contentDocument;
  return doc && doc.readyState === 'complete' && doc.body && doc.body.textContent.includes(marker);
})"""


def save_to_reload(page: Page, preview: Preview, root: Path, marker: str) -> tuple[float, float]:
    """Seconds from writing the template to the rebuild's end (server side) and to both
    frames showing ``marker``, loaded."""
    rebuilt: list[float] = []
    before = preview.rebuilder.status
    waiter = threading.Thread(target=lambda: rebuilt.append(_rebuilt(preview, before)))
    waiter.start()
    started = time.perf_counter()
    write_header(root, marker)
    page.wait_for_function(SHOWN_JS, arg=marker, polling="raf", timeout=15_000)
    reloaded = time.perf_counter() - started
    waiter.join(15)
    return rebuilt[0] - started, reloaded


def _rebuilt(preview: Preview, before: Status) -> float:
    """The moment the next build after ``before`` finished."""
    status = before
    while not (status.build > before.build and status.state in ("ok", "error")):
        status = preview.rebuilder.wait_change(status.seq, 15)
    return time.perf_counter()


def run(stories: int, saves: int) -> int:
    """Run the benchmark; the exit code (0 when the median meets the target)."""
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        root = Path(folder)
        preview = Preview(write_site(root, stories), root / "out", DAY, port=0).start()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            ready = preview.wait_ready(60) and preview.rebuilder.status.state == "ok"
            assert ready, preview.rebuilder.status
            built = json.loads((root / "out" / str(DAY) / "issue.json").read_text(encoding="utf-8"))
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(preview.url)
            page.wait_for_function(SHOWN_JS, arg="Marker 0", polling="raf", timeout=15_000)
            times, rebuilds, builds = [], [], []
            for n in range(1, saves + 1):
                rebuilt, reloaded = save_to_reload(page, preview, root, f"Marker {n}")
                times.append(reloaded)
                rebuilds.append(rebuilt)
                builds.append(preview.rebuilder.status.seconds)
        finally:
            browser.close()
            preview.stop()
    return report(built["stats"]["stories"], times, rebuilds, builds)


def idle(count: int) -> int:
    """Open ``count`` idle connections to the preview; print what it holds; exit code 0."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        preview = Preview(write_site(root, 30), root / "out", DAY, port=0).start()
        try:
            assert preview.wait_ready(60), preview.rebuilder.status
            address = preview.server.server_address[:2]
            fds = len(os.listdir("/proc/self/fd"))
            flood = []
            for _ in range(count):
                raw = socket.socket()
                raw.bind(("127.0.0.2", 0))
                raw.connect(address)
                flood.append(raw)
            time.sleep(1)  # the last ones accepted or refused
            refused = sum(_refused(raw) for raw in flood)
            times = [_editor_request(preview) for _ in range(21)]
            held = len(os.listdir("/proc/self/fd")) - fds - count  # the clients' own sockets aside
            print(
                f"{count} idle connections: {threading.active_count()} threads, {held} more descriptors "
                f"held by the preview, {refused} refused with 503"
            )
            print(
                f"the editor's request meanwhile: median {statistics.median(times) * 1000:.1f} ms "
                f"(max {max(times) * 1000:.1f})"
            )
            for raw in flood:
                raw.close()
        finally:
            preview.stop()
    return 0


def _refused(connection: socket.socket) -> bool:
    connection.setblocking(False)
    try:
        return connection.recv(64).startswith(b"HTTP/1.1 503")
    except OSError:
        return False


def _editor_request(preview: Preview) -> float:
    """Seconds for one request of the preview's status from 127.0.0.1."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(*preview.server.server_address[:2], timeout=10)
    connection.request("GET", "/_preview/status")
    connection.getresponse().read()
    connection.close()
    return time.perf_counter() - started


def report(stories: int, times: list[float], rebuilds: list[float], builds: list[float]) -> int:
    """Print the figures; 0 if the median save-to-reload time meets the target."""
    median = statistics.median(times)
    print(f"issue: {stories} stories; {len(times)} saves")
    print(
        f"save -> both frames reloaded (browser): median {median * 1000:.0f} ms "
        f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})"
    )
    print(f"save -> rebuild finished (server): median {statistics.median(rebuilds) * 1000:.0f} ms")
    build = statistics.median(builds) * 1000
    print(f"of which the rebuild (config, dedup, curate, render, publish): median {build:.0f} ms")
    met = median <= TARGET_SECONDS
    print(f"target {TARGET_SECONDS:.1f} s: {'met' if met else 'MISSED'}")
    return 0 if met else 1


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=30)
    parser.add_argument("--saves", type=int, default=9)
    parser.add_argument("--idle", type=int, default=0, help="measure N idle connections instead")
    args = parser.parse_args()
    sys.exit(idle(args.idle) if args.idle else run(args.stories, args.saves))


if __name__ == "__main__":
    main()
