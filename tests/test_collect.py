"""collect with many sources: worker processes give the same items, in source order."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import FeedServer, Reply, rss, rss_item

from digest import build, ingest
from digest.build import collect
from digest.store import Store

SOURCES = build.PARALLEL_FROM + 12


def test_many_sources_parse_in_parallel_like_one_by_one(
    tmp_path: Path, write_config, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "feeds").mkdir()
    sources = []
    for n in range(SOURCES):
        feed = tmp_path / "feeds" / f"f{n}.xml"
        if n == 7:
            feed.write_bytes(b"<html><body>not a feed</body></html>")
        else:
            items = [rss_item(f"Story {n}-{k} on topic {n}", f"https://s{n}.example/{k}") for k in range(3)]
            feed.write_bytes(rss(*items, link=f"https://s{n}.example/"))
        sources.append({"name": f"Source {n}", "path": f"feeds/f{n}.xml"})
    config = write_config(sources)

    monkeypatch.setattr(build.os, "cpu_count", lambda: 2)  # workers even on a one-core machine
    items, stats = collect(config, store)  # over PARALLEL_FROM: worker processes
    monkeypatch.setattr(build, "PARALLEL_FROM", 10**6)
    alone, alone_stats = collect(config, store)  # one by one in this process

    assert [i.id for i in items] == [i.id for i in alone]
    assert [i.title for i in items[:3]] == [
        "Story 0-0 on topic 0",
        "Story 0-1 on topic 0",
        "Story 0-2 on topic 0",
    ]
    assert items[-1].source == f"Source {SOURCES - 1}"
    assert len(items) == 3 * (SOURCES - 1) and stats.feeds_ok == SOURCES - 1
    assert (
        [f.source for f in stats.feeds_failed] == ["Source 7"] == [f.source for f in alone_stats.feeds_failed]
    )


def test_a_parse_worker_imports_neither_the_http_client_nor_the_numerical_stack() -> None:
    check = (
        "import sys, digest.ingest; print(sorted(m for m in ('httpx', 'numpy', 'scipy') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_a_feed_that_breaks_parsing_unforeseen_fails_alone(
    tmp_path: Path, write_config, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "feeds").mkdir()
    for name in ("good", "odd"):
        items = [rss_item(f"{name} story {k}", f"https://{name}.example/{k}") for k in range(2)]
        (tmp_path / "feeds" / f"{name}.xml").write_bytes(rss(*items, link=f"https://{name}.example/"))
    config = write_config([{"name": n, "path": f"feeds/{n}.xml"} for n in ("good", "odd")])
    normalize = ingest.normalize_counted

    def breaks_on_odd(entries, source, *rest):  # a fault no rule foresaw, in one feed only
        if source.name == "odd":
            raise RecursionError("maximum recursion depth exceeded")
        return normalize(entries, source, *rest)

    monkeypatch.setattr(ingest, "normalize_counted", breaks_on_odd)
    items, stats = collect(config, store)
    assert [i.title for i in items] == ["good story 0", "good story 1"]
    [failed] = stats.feeds_failed
    assert failed.source == "odd" and "RecursionError: maximum recursion depth exceeded" in failed.error


def test_two_sources_of_one_article_keep_both_takes_under_ids_of_their_own(
    tmp_path: Path, write_config, store: Store
) -> None:
    (tmp_path / "feeds").mkdir()
    article = "https://orig.example/openai-gpt6"
    aggregated = [rss_item("OpenAI releases GPT-6", f"{article}?utm_source=agg")] * 2  # twice in one feed
    (tmp_path / "feeds" / "agg.xml").write_bytes(rss(*aggregated))
    original = [rss_item("OpenAI releases GPT-6, a model that plans", article, body="OpenAI released GPT-6.")]
    original.append(rss_item("Another story of the original", "https://orig.example/other"))
    (tmp_path / "feeds" / "orig.xml").write_bytes(rss(*original))
    sources = [
        {"name": "Aggregator", "path": "feeds/agg.xml", "weight": 0.5},
        {"name": "Original", "path": "feeds/orig.xml", "weight": 2.0},
    ]
    alone = {i.url: i.id for i in collect(write_config(sources[1:]), store)[0]}

    items, stats = collect(write_config(sources), store)
    assert [(i.source, i.url) for i in items] == [
        ("Aggregator", article),
        ("Original", article),
        ("Original", "https://orig.example/other"),
    ]
    assert stats.items == 3 and len({i.id for i in items}) == 3
    # ids collide only where two sources share the article; elsewhere they stay as they were
    assert items[0].id == alone[article] and items[2].id == alone["https://orig.example/other"]
    assert [i.id for i in collect(write_config(sources), store)[0]] == [i.id for i in items]  # stable


def test_entries_left_out_before_dedup_are_counted_and_logged(
    tmp_path: Path, write_config, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "feeds").mkdir()
    robots = [rss_item(f"Robot story {k}", f"https://r.example/{k}") for k in range(4)]
    again = [rss_item("Robot story 0, updated", "https://r.example/0")]  # the link of another entry
    others = [rss_item(f"Weather story {k}", f"https://r.example/w{k}") for k in range(3)]
    empty = "<item><link>https://r.example/empty</link></item>"  # no title, no text
    feed = rss(*robots, *again, *others, empty, link="https://r.example/")
    (tmp_path / "feeds" / "r.xml").write_bytes(feed)
    config = write_config([{"name": "R", "path": "feeds/r.xml", "include": ["robot"], "max_items": 3}])
    with caplog.at_level(logging.INFO, logger="digest.build"):
        items, stats = collect(config, store)
    assert len(items) == 3 and all(i.title.startswith("Robot story") for i in items)  # 3 links, not 2
    left_out = (stats.items_filtered_out, stats.items_over_max, stats.items_untitled, stats.items_repeated)
    assert left_out == (3, 1, 1, 1) and len(items) + sum(left_out) == 9  # every entry of the feed
    assert (
        "left out 6 entries: 3 by a source's include/exclude, 1 past a source's max_items, 1 with neither "
        "a title nor text, 1 with the link of another entry of their feed" in caplog.text
    )


def test_an_undated_item_keeps_the_date_it_was_first_seen(tmp_path: Path, write_config, store: Store) -> None:
    (tmp_path / "feeds").mkdir()
    undated = "<item><title>A tool page with no date</title><link>https://t.example/tool</link></item>"
    dated = rss_item("A dated story", "https://t.example/news")
    (tmp_path / "feeds" / "t.xml").write_bytes(rss(undated, dated, link="https://t.example/"))
    config = write_config([{"name": "T", "path": "feeds/t.xml"}])
    first, _ = collect(config, store)
    seen = {i.title: i.published for i in first}
    time.sleep(1.1)  # the state keeps seconds
    again, _ = collect(config, store)
    later = {i.title: i.published for i in again}
    assert seen["A tool page with no date"] is not None
    assert later == seen  # not re-dated by the second fetch: it would look new every day


@pytest.mark.parametrize("odd", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"])
def test_a_json_item_dated_past_the_calendar_loses_its_date_not_the_feed(
    feed_server: FeedServer, write_config, store: Store, odd: str
) -> None:
    items = [
        {"id": "1", "url": "https://j.example/1", "title": "Odd date", "content_text": "x",
         "date_published": odd},
        {"id": "2", "url": "https://j.example/2", "title": "Today", "content_text": "y",
         "date_published": "2025-06-14T07:00:00Z"},
    ]  # fmt: skip
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items}).encode()
    url = feed_server.route("/feed.json", Reply(200, body, {"Content-Type": "application/feed+json"}))
    found, stats = collect(write_config([{"name": "J", "url": url}]), store)
    assert stats.feeds_failed == [] and stats.feeds_ok == 1
    assert {i.title: i.published.year for i in found} == {"Odd date": datetime.now(UTC).year, "Today": 2025}


def test_a_large_malformed_feed_is_read_in_part_and_says_so(
    tmp_path: Path, write_config, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "feeds").mkdir()
    first = rss_item("Robots & more robots", "https://m.example/1")  # a bare "&": not well-formed XML
    (tmp_path / "feeds" / "m.xml").write_bytes(
        rss(first, "<x>" * 1_000_000, rss_item("Late", "https://m.example/2"))
    )
    config = write_config([{"name": "M", "path": "feeds/m.xml"}])
    with caplog.at_level(logging.WARNING, logger="digest.build"):
        items, stats = collect(config, store)
    assert (
        [i.title for i in items] == ["Robots & more robots"]
        and stats.feeds_ok == 1
        and not stats.feeds_failed
    )
    assert "M: not well-formed XML: read leniently up to its last entry in the first 1 MB" in caplog.text
    assert "bytes left unread" in caplog.text
    [partly] = stats.feeds_read_in_part
    assert partly.source == "M" and partly.error.startswith("not well-formed XML: read leniently")


def test_a_feed_cut_short_is_read_up_to_the_cut_and_says_so(
    tmp_path: Path, write_config, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    # a local feed read while its writer was half-way through: the lenient parser keeps the
    # entries before the cut, and nothing told the editor that the rest was missing
    (tmp_path / "feeds").mkdir()
    whole = rss(*(rss_item(f"Story {k} of the day", f"https://cut.example/{k}") for k in range(3)))
    cut = whole[: whole.index(b"<item>", whole.index(b"Story 1")) + len(b"<item><title>Sto")]
    (tmp_path / "feeds" / "cut.xml").write_bytes(cut)
    # malformed (a bare "&") but whole: read leniently, as before, without a warning
    odd = rss(rss_item("Robots & more robots", "https://odd.example/1"))
    (tmp_path / "feeds" / "odd.xml").write_bytes(odd)
    sources = [{"name": "Cut", "path": "feeds/cut.xml"}, {"name": "Odd", "path": "feeds/odd.xml"}]
    config = write_config(sources)
    with caplog.at_level(logging.WARNING, logger="digest.build"):
        items, stats = collect(config, store)
    assert [i.title for i in items] == ["Story 0 of the day", "Story 1 of the day", "Robots & more robots"]
    assert stats.feeds_ok == 2 and not stats.feeds_failed
    [partly] = stats.feeds_read_in_part
    assert partly.source == "Cut" and partly.error == (
        "the XML stops before its end (cut short in transfer, or read while being written?): "
        "read only up to the cut, 3 entries"
    )
    assert [r.getMessage() for r in caplog.records] == [f"Cut: {partly.error}"]

    (tmp_path / "feeds" / "cut.xml").write_bytes(whole)  # written whole by the next run
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="digest.build"):
        items, stats = collect(config, store)
    assert len(items) == 4 and not stats.feeds_read_in_part and not caplog.records
