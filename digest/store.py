"""The state: one SQLite file behind one narrow class.

Feed validators and cached bodies, items first seen, issue numbers, stories published
per issue, the send log and the suppression list. Every write is its own transaction,
so a crash loses nothing already recorded. A database that cannot be used (locked by
another process past the busy timeout, unreadable, full) is a ``StateError``, from any
method.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import date as date_type
from pathlib import Path
from typing import Any, TypeVar

from .errors import StateError
from .models import Item, Story

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, body BLOB, fetched_at TEXT
);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY, source TEXT, url TEXT, title TEXT, first_seen TEXT
);
CREATE TABLE IF NOT EXISTS issues (
    number INTEGER PRIMARY KEY, date TEXT UNIQUE NOT NULL, slug TEXT NOT NULL,
    title TEXT, built_at TEXT, sent_at TEXT
);
CREATE TABLE IF NOT EXISTS published (
    issue INTEGER NOT NULL, story TEXT NOT NULL, item TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (issue, item)
);
CREATE TABLE IF NOT EXISTS sends (
    issue TEXT NOT NULL, email TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, reply TEXT, updated_at TEXT,
    PRIMARY KEY (issue, email)
);
CREATE TABLE IF NOT EXISTS suppressed (
    email TEXT PRIMARY KEY, reason TEXT, added_at TEXT
);
"""
# Changes to SCHEMA since the first release, oldest first. A file's ``user_version`` counts
# those already applied, so a state file from any earlier version is brought up to date
# when it is opened. Append here; never edit SCHEMA's tables or an applied step.
MIGRATIONS = (
    "ALTER TABLE feeds ADD COLUMN base TEXT",  # the address after redirects
    # Earlier versions marked an issue sent with recipients still in doubt: unmark it, so
    # that runs warn about it again and 'digest send --retry-unknown' can finish it.
    "UPDATE issues SET sent_at = NULL WHERE date IN (SELECT issue FROM sends WHERE status = 'sending')",
    # when a send of the issue was last begun: an issue built and never sent because its
    # relay was down is told from a draft (a preview of another day) by it
    "ALTER TABLE issues ADD COLUMN send_begun_at TEXT",
    # an issue the preview built (of any day the editor looked at) until build or run
    # builds that day: its stories are not yet published, unless a send of it began
    "ALTER TABLE issues ADD COLUMN draft INTEGER NOT NULL DEFAULT 0",
    # when an item was last in its feed: an item is forgotten only long after it left
    # (forgotten while still there, an undated one would look new and go out again)
    "ALTER TABLE items ADD COLUMN last_seen TEXT",
    # items seen before the column: as if seen when the file was brought up to date
    "UPDATE items SET last_seen = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')",
    # the per-recipient log of an issue sent long ago was cleared: a send of it sends nothing
    "ALTER TABLE issues ADD COLUMN send_log_cleared INTEGER NOT NULL DEFAULT 0",
)
BUSY_TIMEOUT = 30.0  # seconds to wait for another process's write lock before giving up


@dataclass(frozen=True)
class Retention:
    """What ``Store.forget`` keeps: the feed cache of ``feeds`` only; items seen since
    ``items_seen_since`` (an ISO time); the takes of issues dated within
    ``published_days`` and the send logs of those within ``send_log_days`` of the latest
    issue (or of ``today``, if that is earlier)."""

    feeds: frozenset[str]
    items_seen_since: str
    published_days: int
    send_log_days: int
    today: date_type


@dataclass(frozen=True)
class CachedFeed:
    """What the last successful fetch of a URL left behind."""

    etag: str | None
    last_modified: str | None
    body: bytes
    base: str = ""  # the address the body came from after redirects; "" if not recorded
    fetched_at: datetime | None = field(default=None, compare=False)  # the body's time; None if unknown


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _instant(text: str | None) -> datetime | None:
    """A time ``_now`` wrote, or None for anything else (a row from before it did)."""
    try:
        moment = datetime.fromisoformat(text or "")
    except ValueError:
        return None
    return moment if moment.tzinfo else None


# What SQLite says when the file cannot be used now, rather than that digest's SQL or data
# is wrong (a bug, which stays an internal error): locked, unreadable, read-only, full.
UNUSABLE = frozenset({
    sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOTADB,
    sqlite3.SQLITE_PERM, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOMEM,
})  # fmt: skip


def _state_error(path: Path, exc: sqlite3.Error, doing: str = "the state database failed") -> StateError:
    """The one-line ``StateError`` for ``exc``, raised by the database at ``path``."""
    if _code(exc) == sqlite3.SQLITE_BUSY:
        return StateError(
            f"{path}: the state database is locked by another process (another digest build, "
            "send or run?); try again when it is done"
        )
    return StateError(f"{path}: {doing}: {exc}")


def _code(exc: sqlite3.Error) -> int:
    """The primary result code of ``exc`` (SQLITE_BUSY for SQLITE_BUSY_SNAPSHOT, ...)."""
    return (getattr(exc, "sqlite_errorcode", None) or sqlite3.SQLITE_ERROR) & 0xFF


def _guarded(method: Callable[..., T]) -> Callable[..., T]:
    """``method`` of ``Store``, an unusable database raised as a ``StateError``."""

    @functools.wraps(method)
    def guarded(self: Store, *args: Any, **kwargs: Any) -> T:
        with self._unusable_as_state_error():
            return method(self, *args, **kwargs)

    return guarded


class Store:
    """The SQLite state file; use as a context manager or call ``close()``.

    ``timeout`` is how long a write waits for another process's lock.
    """

    def __init__(self, path: Path, timeout: float = BUSY_TIMEOUT) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=timeout, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(SCHEMA)
            self._migrate()
        except sqlite3.Error as exc:
            raise _state_error(path, exc, "cannot open the state database") from None
        except OSError as exc:
            raise StateError(f"{path}: cannot open the state database: {exc}") from None

    def _migrate(self) -> None:
        """Apply the ``MIGRATIONS`` this file has not had yet, all in one transaction.

        The version is read again under the write lock: another process opening the same
        file at once may have migrated it in between.
        """
        if self._version() >= len(MIGRATIONS):
            return
        with self.transaction() as db:
            for number in range(self._version(), len(MIGRATIONS)):
                db.execute(MIGRATIONS[number])
                db.execute(f"PRAGMA user_version = {number + 1}")

    def _version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    @contextmanager
    def _unusable_as_state_error(self) -> Iterator[None]:
        """Raise what SQLite says about an unusable database inside as one ``StateError``."""
        try:
            yield
        except sqlite3.Error as exc:
            if _code(exc) not in UNUSABLE:
                raise
            raise _state_error(self.path, exc) from None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes inside commit together or not at all.

        Nested use joins the outer transaction, so store methods can be grouped.
        """
        if self.db.in_transaction:
            yield self.db
            return
        with self._unusable_as_state_error():
            self.db.execute("BEGIN IMMEDIATE")  # waits up to the busy timeout for the lock
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        with self._unusable_as_state_error():
            self.db.execute("COMMIT")

    # -- feeds -------------------------------------------------------------------
    @_guarded
    def cached_feed(self, url: str) -> CachedFeed | None:
        """The validators, body and final address stored for ``url``, if any."""
        row = self.db.execute(
            "SELECT etag, last_modified, body, COALESCE(base, ''), fetched_at FROM feeds WHERE url = ?",
            (url,),
        ).fetchone()
        return CachedFeed(*row[:4], _instant(row[4])) if row else None

    @_guarded
    def save_feed(
        self, url: str, etag: str | None, last_modified: str | None, body: bytes, base: str = ""
    ) -> None:
        """Remember a fetched body, its validators for the next conditional GET, and the
        address it came from after redirects (``base``), for a 304 or offline build."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO feeds (url, etag, last_modified, body, fetched_at, base) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (url, etag, last_modified, body, _now(), base),
            )

    # -- items -------------------------------------------------------------------
    @_guarded
    def record_items(self, items: Sequence[Item]) -> int:
        """Remember when each item was first seen, and that it was seen now; return how
        many are new."""
        now = _now()
        with self.transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO items (id, source, url, title, first_seen, last_seen) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(i.id, i.source, i.url, i.title, now, now) for i in items],
            )
            new = db.total_changes - before
            db.executemany("UPDATE items SET last_seen = ? WHERE id = ?", [(now, i.id) for i in items])
            return new

    @_guarded
    def first_seen(self, ids: Sequence[str]) -> dict[str, datetime]:
        """When each of ``ids`` was first seen (``record_items``), for those known."""
        seen = {}
        for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(f"SELECT id, first_seen FROM items WHERE id IN ({marks})", chunk)
            seen.update((key, datetime.fromisoformat(when)) for key, when in rows)
        return seen

    # -- issues ------------------------------------------------------------------
    @_guarded
    def next_issue_number(self, date: str) -> int:
        """The number the issue of ``date`` has or would get, without taking it."""
        row = self.db.execute("SELECT number FROM issues WHERE date = ?", (date,)).fetchone()
        if row:
            return row[0]
        (last,) = self.db.execute("SELECT COALESCE(MAX(number), 0) FROM issues").fetchone()
        return last + 1

    @_guarded
    def issue_number(self, date: str, slug: str, draft: bool = False) -> int:
        """The number of the issue of ``date``: the same on a rebuild, else the next one.

        ``draft``: the preview builds it. A draft's takes count as published only once a
        send of it begins; a build that is no draft makes the issue a real one for good
        (the preview never makes it a draft again)."""
        with self.transaction() as db:
            number = self.next_issue_number(date)
            db.execute(
                "INSERT OR IGNORE INTO issues (number, date, slug, built_at, draft) VALUES (?, ?, ?, ?, ?)",
                (number, date, slug, _now(), int(draft)),
            )
            if not draft:
                db.execute("UPDATE issues SET draft = 0 WHERE number = ?", (number,))
            return number

    @_guarded
    def record_issue(self, number: int, title: str, stories: Sequence[Story]) -> None:
        """Store the issue's title and every take it published (replacing a rebuild's)."""
        rows = [
            (number, story.id, item.id, json.dumps(_item_row(item)))
            for story in stories
            for item in story.items
        ]
        with self.transaction() as db:
            db.execute("UPDATE issues SET title = ?, built_at = ? WHERE number = ?", (title, _now(), number))
            db.execute("DELETE FROM published WHERE issue = ?", (number,))
            db.executemany("INSERT INTO published VALUES (?, ?, ?, ?)", rows)

    @_guarded
    def published_before(self, date: str, since: str) -> list[Item]:
        """Items published in issues dated from ``since`` up to, not including, ``date``:
        not those of a draft (an issue only the preview built) whose send never began."""
        rows = self.db.execute(
            "SELECT p.data FROM published p JOIN issues i ON i.number = p.issue "
            "WHERE i.date < ? AND i.date >= ? AND (i.draft = 0 OR i.send_begun_at IS NOT NULL)",
            (date, since),
        ).fetchall()
        return [_item_from_row(json.loads(data)) for (data,) in rows]

    @_guarded
    def issue_sent(self, date: str) -> bool:
        """Whether the issue of ``date`` was already sent to the whole list."""
        row = self.db.execute("SELECT sent_at FROM issues WHERE date = ?", (date,)).fetchone()
        return bool(row and row[0])

    @_guarded
    def mark_send_begun(self, date: str) -> None:
        """Record that a send of the issue of ``date`` begins (before any connection)."""
        with self.transaction() as db:
            db.execute("UPDATE issues SET send_begun_at = ? WHERE date = ?", (_now(), date))

    @_guarded
    def mark_sent(self, date: str) -> None:
        """Record that the issue of ``date`` went out."""
        with self.transaction() as db:
            db.execute("UPDATE issues SET sent_at = ? WHERE date = ?", (_now(), date))

    @_guarded
    def unfinished_sends(self, before: str, since: str) -> list[tuple[str, Counter[str]]]:
        """Issues dated in [``since``, ``before``) whose send began but did not reach the
        whole list: each date with the count of its logged recipients by status (none if
        the send stopped before the first, e.g. the relay was down). An issue only built
        (a draft seen in the preview) is not one of them."""
        rows = self.db.execute(
            "SELECT i.date, s.status, COUNT(s.email) FROM issues i LEFT JOIN sends s ON s.issue = i.date "
            "WHERE i.sent_at IS NULL AND i.date < ? AND i.date >= ? "
            "AND (i.send_begun_at IS NOT NULL OR s.issue IS NOT NULL) GROUP BY i.date, s.status "
            "ORDER BY i.date",
            (before, since),
        ).fetchall()
        found: dict[str, Counter[str]] = {}
        for issue, status, count in rows:
            counts = found.setdefault(issue, Counter())
            if status is not None:
                counts[status] = count
        return list(found.items())

    # -- send log ----------------------------------------------------------------
    @_guarded
    def send_status(self, issue: str) -> dict[str, str]:
        """Recipient -> status ("sent", "failed", "pending") for ``issue``."""
        rows = self.db.execute("SELECT email, status FROM sends WHERE issue = ?", (issue,))
        return dict(rows.fetchall())

    @_guarded
    def log_send(self, issue: str, email: str, status: str, reply: str = "") -> None:
        """Record one attempt for one recipient (commits at once)."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO sends (issue, email, status, attempts, reply, updated_at) "
                "VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (issue, email) DO UPDATE SET "
                "status = excluded.status, attempts = attempts + 1, reply = excluded.reply, "
                "updated_at = excluded.updated_at",
                (issue, email.lower(), status, reply, _now()),
            )

    @_guarded
    def set_send_status(self, issue: str, email: str, status: str, reply: str = "") -> None:
        """Change the status of a row ``log_send`` created, without counting another attempt."""
        with self.transaction() as db:
            db.execute(
                "UPDATE sends SET status = ?, reply = ?, updated_at = ? WHERE issue = ? AND email = ?",
                (status, reply, _now(), issue, email.lower()),
            )

    @_guarded
    def send_log(self, issue: str) -> list[tuple[str, str, int, str]]:
        """(email, status, attempts, last reply) rows for ``issue``."""
        return self.db.execute(
            "SELECT email, status, attempts, COALESCE(reply, '') FROM sends WHERE issue = ? ORDER BY email",
            (issue,),
        ).fetchall()

    @_guarded
    def send_log_cleared(self, issue: str) -> bool:
        """Whether the per-recipient log of ``issue`` was cleared (``forget``): it went to
        the whole list long ago, and who had it is no longer known."""
        row = self.db.execute("SELECT send_log_cleared FROM issues WHERE date = ?", (issue,)).fetchone()
        return bool(row and row[0])

    # -- retention ---------------------------------------------------------------
    @_guarded
    def forget(self, keep: Retention) -> Counter[str]:
        """Delete what ``keep`` no longer keeps, in one transaction; return the rows
        deleted by table. Issue rows stay (numbers go on from the last one, and a
        rebuild or send of an old issue is still told it was sent)."""
        with self.transaction() as db:
            # a draft counts (its send may begin any day, and its takes then count as
            # published); one built for a later day must not make every other one old
            latest = db.execute("SELECT MAX(date) FROM issues").fetchone()[0]
            anchor = min(date_type.fromisoformat(latest), keep.today) if latest else keep.today
            published_before = (anchor - timedelta(days=keep.published_days)).isoformat()
            logs_before = (anchor - timedelta(days=keep.send_log_days)).isoformat()
            gone = [(url,) for (url,) in db.execute("SELECT url FROM feeds") if url not in keep.feeds]
            db.executemany("DELETE FROM feeds WHERE url = ?", gone)
            unseen = db.execute("DELETE FROM items WHERE last_seen < ?", (keep.items_seen_since,))
            old_takes = db.execute(
                "DELETE FROM published WHERE issue IN (SELECT number FROM issues WHERE date < ?)",
                (published_before,),
            )
            deleted = Counter({
                "feeds": len(gone),
                "items": unseen.rowcount,
                "published": old_takes.rowcount,
                "sends": self._clear_send_logs(logs_before),
            })  # fmt: skip
        return +deleted

    def _clear_send_logs(self, before: str) -> int:
        """Clear the logs of the issues dated before ``before`` that went to the whole
        list; those still unfinished keep theirs (a later send or --retry-unknown needs it)."""
        sent = "SELECT date FROM issues WHERE sent_at IS NOT NULL AND send_log_cleared = 0 AND date < ?"
        deleted = self.db.execute(f"DELETE FROM sends WHERE issue IN ({sent})", (before,)).rowcount
        self.db.execute(f"UPDATE issues SET send_log_cleared = 1 WHERE date IN ({sent})", (before,))
        return deleted

    @_guarded
    def reclaim_space(self) -> int:
        """Give the file's free pages back to the file system when they are over a quarter
        of it (a first clean-up of a long history); return the bytes given back.

        Day to day, the pages freed by ``forget`` are reused by the next day's rows, so
        the file stays the same size without rewriting it every day."""
        size = lambda: self.db.execute("PRAGMA page_count").fetchone()[0]  # noqa: E731
        free, pages = self.db.execute("PRAGMA freelist_count").fetchone()[0], size()
        if free * 4 <= pages:
            return 0
        self.db.execute("VACUUM")
        (page_size,) = self.db.execute("PRAGMA page_size").fetchone()
        return (pages - size()) * page_size

    # -- suppression -------------------------------------------------------------
    @_guarded
    def suppress(self, emails: Sequence[str], reason: str) -> int:
        """Add addresses to the suppression list; return how many were new."""
        with self.transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO suppressed VALUES (?, ?, ?)",
                [(e.strip().lower(), reason, _now()) for e in emails if e.strip()],
            )
            return db.total_changes - before

    @_guarded
    def suppressed(self) -> set[str]:
        """Every suppressed address, lower-cased."""
        return {e for (e,) in self.db.execute("SELECT email FROM suppressed")}


def _item_row(item: Item) -> dict[str, object]:
    row = asdict(item)
    row["published"] = item.published.isoformat() if item.published else None
    return row


def _item_from_row(row: dict[str, object]) -> Item:
    published = row.get("published")
    row["published"] = datetime.fromisoformat(published) if isinstance(published, str) else None
    return Item(**row)  # type: ignore[arg-type]
