"""retention: what a build forgets, through the real CLI and a real state file."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import yaml
from conftest import Reply, rss, rss_item
from test_build import build

from digest.config import load_config
from digest.retention import forget_old, item_days
from digest.store import Store

TODAY = datetime.now(UTC).date()


def state_of(sources: Path) -> sqlite3.Connection:
    """The state file of the newsletter of ``sources``, opened as another program would."""
    return sqlite3.connect(sources.parent / ".digest" / "state.sqlite")


def test_a_removed_source_s_cached_feed_is_forgotten(feed_server, write_config, tmp_path: Path) -> None:
    now = format_datetime(datetime.now(UTC))
    kept = feed_server.route(
        "/kept.xml", Reply(body=rss(rss_item("Lab ships a model", "https://a.example/1", now)))
    )
    gone = feed_server.route(
        "/gone.xml", Reply(body=rss(rss_item("Chip plant opens", "https://b.example/1", now)))
    )
    write_config([{"name": "Kept", "url": kept}, {"name": "Gone", "url": gone}])
    sources = tmp_path / "sources.yaml"
    assert build(sources)[0] == 0
    assert {url for (url,) in state_of(sources).execute("SELECT url FROM feeds")} == {kept, gone}

    write_config([{"name": "Kept", "url": kept}])  # the editor drops a source
    code, _, err = build(sources)
    assert code == 0, err
    assert [url for (url,) in state_of(sources).execute("SELECT url FROM feeds")] == [kept]


def undated(title: str, link: str) -> str:
    """An ``<item>`` without a date, as some feeds write them."""
    return f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid></item>"


def two_builds_far_apart(tmp_path: Path) -> tuple[Path, dict]:
    """A local feed of undated posts, without a memory of published stories (only when
    a post was first seen keeps it from coming back): built today with 'Still there' and
    'Long gone'; every item then looks seen 200 days ago, 'Long gone' leaves the feed,
    'Fresh' comes, and tomorrow's issue is built. Its issue.json."""
    feed = tmp_path / "feed.xml"
    still, gone, fresh = (
        undated(title, f"https://news.example/{n}")
        for n, title in enumerate(["Still there in the feed", "Long gone from the feed", "Fresh post today"])
    )
    feed.write_bytes(rss(still, gone))
    sources = tmp_path / "sources.yaml"
    config = {
        "newsletter": {"name": "N"},
        "sources": [{"name": "Local", "path": "feed.xml"}],
        "dedup": {"memory_days": 0},
    }
    sources.write_text(yaml.safe_dump(config), encoding="utf-8")
    code, _, err = build(sources, "--date", TODAY.isoformat())
    assert code == 0, err
    then = (datetime.now(UTC) - timedelta(days=200)).isoformat(timespec="seconds")
    with state_of(sources) as db:
        db.execute("UPDATE items SET first_seen = ?, last_seen = ?", (then, then))
    feed.write_bytes(rss(fresh, still))
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    code, _, err = build(sources, "--date", tomorrow)
    assert code == 0, err
    return sources, json.loads((tmp_path / "out" / tomorrow / "issue.json").read_text(encoding="utf-8"))


def titles(issue: dict) -> list[str]:
    return [story["title"] for section in issue["sections"] for story in section["stories"]]


def test_an_item_still_in_its_feed_long_after_is_kept_and_not_published_again(tmp_path: Path) -> None:
    sources, issue = two_builds_far_apart(tmp_path)
    assert titles(issue) == ["Fresh post today"]
    rows = dict(state_of(sources).execute("SELECT title, last_seen FROM items"))
    assert datetime.fromisoformat(rows["Still there in the feed"]) > datetime.now(UTC) - timedelta(minutes=5)


def test_an_item_gone_from_its_feed_long_ago_is_forgotten(tmp_path: Path) -> None:
    sources, _ = two_builds_far_apart(tmp_path)
    assert 200 > item_days(load_config(sources))
    known = {title for (title,) in state_of(sources).execute("SELECT title FROM items")}
    assert known == {"Still there in the feed", "Fresh post today"}


def test_a_clean_up_the_state_cannot_make_now_is_left_for_the_next_build(
    feed_server, write_config, tmp_path: Path, caplog
) -> None:
    # another program holds the state's write lock (or the disk is full): the day's build
    # must go on, not fail on forgetting old rows
    now = format_datetime(datetime.now(UTC))
    url = feed_server.route(
        "/a.xml", Reply(body=rss(rss_item("Lab ships a model", "https://a.example/1", now)))
    )
    write_config([{"name": "A", "url": url}])
    sources = tmp_path / "sources.yaml"
    assert build(sources)[0] == 0
    write_config([{"name": "B", "url": url + "?b"}])  # A's cached feed is now to be forgotten
    config = load_config(sources)
    other = state_of(sources)
    other.execute("BEGIN IMMEDIATE")
    try:
        with Store(config.resolve(config.state), timeout=0.1) as store:
            forget_old(config, store)
    finally:
        other.rollback()
    assert "could not forget old state" in caplog.text
    assert [url for (url,) in state_of(sources).execute("SELECT url FROM feeds")] == [url]  # kept for now
