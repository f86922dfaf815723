"""State growth: N days of daily runs against a real SQLite state file.

    .venv/bin/python benchmarks/state_growth.py [--days 365] [--recipients 1000] [--keep-everything]

Each simulated day does what ``digest run`` asks of the store, through its real methods:
every feed's body cached (20 feeds of 30 entries, ~1.5 KB each, rolling: ~150 new items a
day), the items recorded and the undated ones looked up, the memory of published stories
read, an issue of 30 stories recorded, and every recipient logged as a send does it
("sending" before the message, "sent" with the relay's reply after). Every 30 days one
source is replaced by another. Then ``retention.forget_old`` runs, as a build does, unless
``--keep-everything`` (the state as kept before retention). The store's clock is moved a
day at a time. Prints the file size and row counts at days 30, 90, 365 (and the last), and
the time of a day's store work and of the clean-up.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import digest.store
from digest.config import Config
from digest.models import Item, Story
from digest.retention import forget_old
from digest.store import Store

FEEDS, ENTRIES, NEW_A_DAY, STORIES = 20, 30, 150, 30
TEXT = "A sentence of ordinary length about a model, a chip or a lab, as feeds write them. " * 12
START = datetime(2025, 1, 1, 6, 30, tzinfo=UTC)


def feed_url(n: int) -> str:
    return f"https://feeds.example/{n}.xml"


def entry(feed: int, n: int, day: int) -> Item:
    """The ``n``-th entry ever of ``feed``; every fifth is undated, as some feeds are."""
    url = f"https://news.example/{feed}/{n}"
    published = None if n % 5 == 0 else START + timedelta(days=day, minutes=n % 600)
    return Item(
        id=f"{feed}-{n}", title=f"Story {n} of feed {feed}: a headline of ordinary length", url=url,
        source=f"Feed {feed}", published=published, summary=TEXT[:300], text=TEXT, html=f"<p>{TEXT}</p>",
        author="Ann Author", guid=url, section="top-news",
    )  # fmt: skip


def simulate_day(store: Store, day: int, sources: list[int], recipients: int) -> None:
    """One day's store work of ``digest run``."""
    key = (START.date() + timedelta(days=day)).isoformat()
    items = []
    for feed in sources:
        newest = (day + 1) * NEW_A_DAY // FEEDS  # each feed's entries roll ~7 a day
        entries = [entry(feed, n, day) for n in range(max(0, newest - ENTRIES), newest)]
        store.save_feed(feed_url(feed), '"etag"', None, TEXT.encode() * 2 * len(entries), feed_url(feed))
        items += entries
    store.record_items(items)
    store.first_seen([i.id for i in items if i.published is None])
    store.published_before(key, (date.fromisoformat(key) - timedelta(days=8)).isoformat())
    store.unfinished_sends(key, (date.fromisoformat(key) - timedelta(days=7)).isoformat())
    number = store.issue_number(key, key)
    fresh = items[-STORIES * 2 :]
    stories = [Story(id=f"s{day}-{n}", items=fresh[2 * n : 2 * n + 2]) for n in range(STORIES)]
    store.record_issue(number, f"Issue {number}", stories)
    store.mark_send_begun(key)
    for r in range(recipients):
        email = f"reader{r}@example.com"
        store.log_send(key, email, "sending")
        store.set_send_status(key, email, "sent", f"250 2.0.0 Ok: queued as {day:04d}{r:06d}ABCDEF")
    store.mark_sent(key)


def config_of(sources: list[int], state: Path) -> Config:
    return Config.model_validate({
        "newsletter": {"name": "Bench"}, "root": state.parent, "state": state.name,
        "sources": [{"name": f"Feed {n}", "url": feed_url(n)} for n in sources],
    })  # fmt: skip


def counts(store: Store) -> str:
    tables = ("feeds", "items", "issues", "published", "sends")
    return ", ".join(f"{t} {store.db.execute(f'SELECT COUNT(*) FROM {t}').fetchone()[0]:,}" for t in tables)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--keep-everything", action="store_true", help="Do not forget anything (as before).")
    args = parser.parse_args()
    clock = {"now": START}
    digest.store._now = lambda: clock["now"].isoformat(timespec="seconds")  # the simulated day
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.sqlite"
        sources, next_source = list(range(FEEDS)), FEEDS
        work, cleanup = [], []
        with Store(path) as store:
            for day in range(args.days):
                clock["now"] = START + timedelta(days=day)
                if day and day % 30 == 0:  # the editor replaces a source
                    sources = sources[1:] + [next_source]
                    next_source += 1
                started = time.perf_counter()
                simulate_day(store, day, sources, args.recipients)
                work.append(time.perf_counter() - started)
                if not args.keep_everything:
                    started = time.perf_counter()
                    forget_old(config_of(sources, path), store, now=clock["now"])
                    cleanup.append(time.perf_counter() - started)
                if day + 1 in (30, 90, 365) or day + 1 == args.days:
                    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    size = path.stat().st_size / 1e6
                    print(f"day {day + 1:>4}: {size:7.1f} MB  {counts(store)}")
        print(f"a day's store work: median {statistics.median(work):.2f} s, max {max(work):.2f} s")
        if cleanup:
            print(f"a day's clean-up:   median {statistics.median(cleanup) * 1000:.1f} ms, "
                  f"max {max(cleanup) * 1000:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
