"""store: the SQLite state file, real, in tmp_path."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest.errors import StateError
from digest.models import Item, Story
from digest.store import MIGRATIONS, SCHEMA, CachedFeed, Retention, Store


def item(n: int, source: str = "News") -> Item:
    return Item(
        id=f"item-{n}",
        title=f"Story {n}",
        url=f"https://news.example/{n}",
        source=source,
        published=datetime(2025, 6, 13, 8, n, tzinfo=UTC),
        summary="S",
        text="T",
        html="<p>T</p>",
        image=None,
        author="Ann",
        guid=f"g{n}",
        section="top-news",
        weight=2.0,
    )


def count(store: Store, table: str) -> int:
    return store.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_the_state_file_and_its_folder_are_created(tmp_path: Path) -> None:
    path = tmp_path / "deep" / ".digest" / "state.sqlite"
    with Store(path) as store:
        store.save_feed("https://a.example/feed", None, None, b"x")
    assert path.is_file()
    with Store(path) as reopened:  # what was written survives a reopen
        cached = reopened.cached_feed("https://a.example/feed")
        assert cached is not None and cached.body == b"x"


def test_an_unusable_state_path_is_a_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StateError, match="cannot open the state database"):
        Store(blocker / "state.sqlite")


def test_feed_validators_and_body_round_trip(store: Store) -> None:
    assert store.cached_feed("https://a.example/feed") is None
    store.save_feed("https://a.example/feed", '"v1"', "Sat, 14 Jun 2025 08:00:00 GMT", b"<rss/>")
    store.save_feed("https://a.example/feed", '"v2"', None, b"<rss>2</rss>", "https://b.example/feed")
    cached = store.cached_feed("https://a.example/feed")
    assert cached == CachedFeed('"v2"', None, b"<rss>2</rss>", "https://b.example/feed")


def test_a_state_file_from_before_the_feed_base_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    old = sqlite3.connect(path)  # the feeds table as the first version made it
    old.execute(
        "CREATE TABLE feeds (url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, body BLOB, fetched_at TEXT)"
    )
    old.execute(
        "INSERT INTO feeds VALUES ('https://a.example/feed', '\"v1\"', NULL, ?, 'then')", (b"<rss/>",)
    )
    old.commit()
    old.close()
    with Store(path) as store:
        assert store.cached_feed("https://a.example/feed") == CachedFeed('"v1"', None, b"<rss/>", "")
        store.save_feed("https://c.example/feed", None, None, b"<rss/>", "https://d.example/feed")
    with Store(path) as reopened:  # a second open finds nothing left to change
        cached = reopened.cached_feed("https://c.example/feed")
        assert cached is not None and cached.base == "https://d.example/feed"


def test_record_items_counts_only_new_ones(store: Store) -> None:
    assert store.record_items([item(1), item(2)]) == 2
    assert store.record_items([item(2), item(3)]) == 1
    assert count(store, "items") == 3


def test_the_issue_number_is_stable_for_a_rebuild_and_increments_for_a_new_date(store: Store) -> None:
    first = store.issue_number("2025-06-13", "2025-06-13")
    assert first == 1
    assert store.issue_number("2025-06-13", "2025-06-13") == 1  # rebuild of the same day
    assert store.issue_number("2025-06-14", "2025-06-14") == 2
    assert store.issue_number("2025-06-13", "2025-06-13") == 1
    assert store.issue_number("2025-06-15", "2025-06-15") == 3


def test_issue_numbers_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with Store(path) as store:
        store.issue_number("2025-06-13", "a")
    with Store(path) as store:
        assert store.issue_number("2025-06-14", "b") == 2


def test_record_issue_and_published_before(store: Store) -> None:
    monday = store.issue_number("2025-06-09", "2025-06-09")
    tuesday = store.issue_number("2025-06-10", "2025-06-10")
    store.record_issue(monday, "Monday", [Story("s1", [item(1), item(2)]), Story("s2", [item(3)])])
    store.record_issue(tuesday, "Tuesday", [Story("s4", [item(4)])])

    before_tuesday = store.published_before("2025-06-10", since="2025-06-01")
    assert sorted(i.id for i in before_tuesday) == ["item-1", "item-2", "item-3"]
    assert before_tuesday[0] == item(int(before_tuesday[0].id[-1]))  # every field round-trips
    assert before_tuesday[0].published is not None and before_tuesday[0].published.tzinfo is not None

    assert sorted(i.id for i in store.published_before("2025-06-11", since="2025-06-10")) == ["item-4"]
    assert store.published_before("2025-06-09", since="2025-06-01") == []  # not the issue itself


def test_a_draft_publishes_nothing_until_its_send_begins_or_a_real_build(store: Store) -> None:
    def published() -> list[str]:
        return [i.id for i in store.published_before("2025-06-10", since="2025-06-01")]

    number = store.issue_number("2025-06-09", "2025-06-09", draft=True)  # the preview's build
    store.record_issue(number, "Monday", [Story("s1", [item(1)])])
    assert published() == []
    store.mark_send_begun("2025-06-09")  # sent by hand as previewed
    assert published() == ["item-1"]

    number = store.issue_number("2025-06-08", "2025-06-08", draft=True)
    store.record_issue(number, "Sunday", [Story("s2", [item(2)])])
    assert store.issue_number("2025-06-08", "2025-06-08") == number  # built by build or run
    assert sorted(published()) == ["item-1", "item-2"]
    store.issue_number("2025-06-08", "2025-06-08", draft=True)  # looked at again in the preview
    assert sorted(published()) == ["item-1", "item-2"]  # still real


def test_a_rebuilt_issue_replaces_what_it_published(store: Store) -> None:
    number = store.issue_number("2025-06-09", "2025-06-09")
    store.record_issue(number, "First draft", [Story("s1", [item(1)]), Story("s2", [item(2)])])
    store.record_issue(number, "Final", [Story("s3", [item(3)])])
    assert [i.id for i in store.published_before("2025-06-10", since="2025-06-01")] == ["item-3"]
    title = store.db.execute("SELECT title FROM issues WHERE number = ?", (number,)).fetchone()[0]
    assert title == "Final"


def test_sent_issues_are_remembered(store: Store) -> None:
    store.issue_number("2025-06-09", "2025-06-09")
    assert not store.issue_sent("2025-06-09")
    store.mark_sent("2025-06-09")
    assert store.issue_sent("2025-06-09")
    assert not store.issue_sent("2025-06-10")


def test_the_send_log_upsert_counts_attempts(store: Store) -> None:
    store.log_send("2025-06-09", "Ann@Example.com", "failed", "451 try later")
    store.log_send("2025-06-09", "ann@example.com", "failed", "451 try later")
    store.log_send("2025-06-09", "ann@example.com", "sent", "250 ok")
    store.log_send("2025-06-09", "bob@example.com", "sent", "250 ok")
    store.log_send("2025-06-10", "ann@example.com", "pending")
    assert store.send_log("2025-06-09") == [
        ("ann@example.com", "sent", 3, "250 ok"),
        ("bob@example.com", "sent", 1, "250 ok"),
    ]
    assert store.send_status("2025-06-09") == {"ann@example.com": "sent", "bob@example.com": "sent"}
    assert store.send_status("2025-06-10") == {"ann@example.com": "pending"}


def test_suppression_list(store: Store) -> None:
    assert store.suppress(["A@Example.com", " b@example.com ", ""], "unsubscribed") == 2
    assert store.suppress(["a@example.com"], "bounced") == 0
    assert store.suppressed() == {"a@example.com", "b@example.com"}


def test_a_crash_inside_a_transaction_leaves_no_partial_rows(store: Store) -> None:
    store.issue_number("2025-06-09", "2025-06-09")
    with pytest.raises(RuntimeError, match="crash"):
        with store.transaction() as db:
            db.execute("INSERT INTO items (id, title) VALUES ('x', 'X')")
            db.execute("UPDATE issues SET title = 'half-done'")
            raise RuntimeError("crash")
    assert count(store, "items") == 0
    assert store.db.execute("SELECT title FROM issues").fetchone()[0] is None
    store.record_items([item(1)])  # the connection is usable afterwards
    assert count(store, "items") == 1


def test_store_methods_inside_a_transaction_roll_back_together(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.record_items([item(1), item(2)])
            store.log_send("2025-06-09", "ann@example.com", "sent")
            store.issue_number("2025-06-09", "2025-06-09")
            raise RuntimeError("crash between writes")
    assert (count(store, "items"), count(store, "sends"), count(store, "issues")) == (0, 0, 0)


def test_a_failed_statement_rolls_back_the_whole_write(store: Store) -> None:
    number = store.issue_number("2025-06-09", "2025-06-09")
    store.record_issue(number, "Good", [Story("s1", [item(1)])])
    duplicate = Story("s2", [item(2), item(2)])  # the same item twice: a primary-key clash
    with pytest.raises(sqlite3.IntegrityError):
        store.record_issue(number, "Bad", [duplicate])
    assert [i.id for i in store.published_before("2025-06-10", since="2025-06-01")] == ["item-1"]
    assert store.db.execute("SELECT title FROM issues").fetchone()[0] == "Good"


def test_committed_writes_are_visible_to_another_connection(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with Store(path) as writer, Store(path) as reader:
        writer.log_send("2025-06-09", "ann@example.com", "sent")
        assert reader.send_status("2025-06-09") == {"ann@example.com": "sent"}


def test_a_locked_state_database_is_a_state_error_that_says_so(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with Store(path, timeout=0.05) as store:
        store.issue_number("2025-06-09", "2025-06-09")
        other = sqlite3.connect(path, isolation_level=None)  # another process's connection
        other.execute("BEGIN EXCLUSIVE")
        try:
            locked = rf"^{re.escape(str(path))}: the state database is locked by another process \(another"
            with pytest.raises(StateError, match=locked) as error:
                store.save_feed("https://a.example/feed", None, None, b"x")
            assert "\n" not in str(error.value) and StateError.exit_code == 5
            with pytest.raises(StateError, match=locked):
                store.mark_sent("2025-06-09")
            with pytest.raises(StateError, match=locked), store.transaction():  # as build groups writes
                pass
            assert store.issue_sent("2025-06-09") is False  # reading goes on (WAL)
        finally:
            other.execute("ROLLBACK")
            other.close()
        store.mark_sent("2025-06-09")  # usable again once the other lets go
        assert store.issue_sent("2025-06-09")


def test_an_issue_an_earlier_version_marked_sent_with_recipients_in_doubt_is_unfinished_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.sqlite"
    with Store(path) as store:
        for date in ("2025-06-09", "2025-06-10"):
            store.issue_number(date, date)
            store.log_send(date, "ann@example.com", "sent", "250 ok")
            store.mark_sent(date)
        store.log_send("2025-06-10", "bob@example.com", "sending")  # killed after the final "."
        store.db.execute("ALTER TABLE issues DROP COLUMN draft")  # as that version
        store.db.execute("ALTER TABLE issues DROP COLUMN send_log_cleared")
        store.db.execute("ALTER TABLE items DROP COLUMN last_seen")
        store.db.execute("ALTER TABLE issues DROP COLUMN send_begun_at")
        store.db.execute("PRAGMA user_version = 1")  # left the file
    with Store(path) as store:
        assert store.issue_sent("2025-06-09") and not store.issue_sent("2025-06-10")
        unfinished = store.unfinished_sends("2025-06-11", "2025-06-01")
        assert unfinished == [("2025-06-10", Counter({"sending": 1, "sent": 1}))]


def test_a_state_file_of_the_previous_schema_gets_last_seen_and_keeps_its_items(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    old = sqlite3.connect(path)  # the schema and migrations of the version before retention
    old.executescript(SCHEMA)
    for step in MIGRATIONS[:4]:
        old.execute(step)
    old.execute("PRAGMA user_version = 4")
    old.execute(
        "INSERT INTO items VALUES ('item-1', 'News', 'https://news.example/1', 'Story 1', '2025-01-01')"
    )
    old.execute(
        "INSERT INTO issues (number, date, slug, sent_at) VALUES (1, '2025-01-02', '2025-01-02', 'x')"
    )
    old.commit()
    old.close()
    opened = datetime.now(UTC)
    with Store(path) as store:
        (seen,) = store.db.execute("SELECT last_seen FROM items").fetchone()
        assert datetime.fromisoformat(seen) >= opened.replace(microsecond=0)  # seen when brought up to date
        assert store.first_seen(["item-1"]) == {"item-1": datetime(2025, 1, 1)}
        assert not store.send_log_cleared("2025-01-02")
        keep = Retention(frozenset(), (opened - timedelta(days=90)).isoformat(), 37, 90, opened.date())
        assert store.forget(keep) == Counter()  # nothing the first day: the item may still be in its feed
