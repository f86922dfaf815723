"""The rebuild worker: one thread that re-renders the issue whenever asked.

Requests that arrive while a build runs are coalesced into one more build. Feeds are
collected once (from the cache: no network, unless asked to fetch again) and the items
kept in memory; they are collected again, still offline, only when the sources change.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..build import Built, build_issue, collect
from ..config import Config, load_config
from ..errors import DigestError
from ..models import Item, Stats
from ..store import Store
from .watch import local_feeds

log = logging.getLogger("digest.preview")
MAX_WARNINGS = 20  # warnings of one build the page lists (a bad feed may warn per item)


@dataclass(frozen=True)
class Status:
    """What the preview shows: the last build's outcome.

    ``seq`` changes with every status change, ``build`` with every finished build.
    """

    seq: int = 0
    build: int = 0
    state: str = "starting"  # starting, building, ok, error
    message: str = ""  # the error, file:line first
    slug: str = ""  # the issue folder of the last good build
    seconds: float = 0.0
    reason: str = ""
    warnings: tuple[str, ...] = ()  # what the last build warned about, as the terminal shows it
    checks: tuple[str, ...] = ()  # the merged stories the last good build's report marks "check"

    def as_json(self) -> dict[str, Any]:
        """The status as sent to the browser."""
        return dataclasses.asdict(self)


@dataclass
class _Collected:
    """Items collected for one set of sources, reused by every rebuild."""

    key: tuple[Any, ...]
    items: list[Item]
    stats: Stats


class Rebuilder:
    """Rebuilds the issue of ``issue_date`` into ``out`` in one worker thread."""

    def __init__(
        self,
        sources: Path,
        out: Path,
        issue_date: date | None = None,
        on_config: Callable[[Config, date], None] | None = None,
    ) -> None:
        self.sources, self.out, self.issue_date = sources, out, issue_date
        self.on_config = on_config or (lambda config, when: None)
        self.config: Config | None = None
        self.status = Status()
        self._cond = threading.Condition()
        self._reasons: list[str] = []
        self._refetch = False
        self._stopping = False
        self._collected: _Collected | None = None
        self._thread = threading.Thread(target=self._run, name="digest-preview-rebuild", daemon=True)

    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the worker to stop; wake every waiter; wait for a running build to end."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def request(self, reason: str, refetch: bool = False) -> None:
        """Ask for a rebuild (``refetch``: fetch the feeds anew first)."""
        with self._cond:
            self._reasons.append(reason)
            self._refetch = self._refetch or refetch
            self._cond.notify_all()

    def wait_change(self, seq: int, timeout: float) -> Status:
        """The status once its ``seq`` differs from ``seq`` (or after ``timeout`` seconds)."""
        with self._cond:
            self._cond.wait_for(lambda: self.status.seq != seq or self._stopping, timeout)
            return self.status

    @property
    def stopping(self) -> bool:
        """True once ``stop`` was called."""
        return self._stopping

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._reasons or self._stopping)
                if self._stopping:
                    return
                reasons, refetch = self._reasons, self._refetch
                self._reasons, self._refetch = [], False
                self._set(state="building", reason=_describe(reasons))
            self._set(**self._build(refetch), build=self.status.build + 1)

    def _set(self, **changes: Any) -> None:
        """Replace the status and wake everyone waiting for a change."""
        with self._cond:
            self.status = dataclasses.replace(self.status, seq=self.status.seq + 1, **changes)
            self._cond.notify_all()

    def _build(self, refetch: bool) -> dict[str, Any]:
        """Build once; the new status fields. Never raises: a failure is a status."""
        started = time.perf_counter()
        with _warnings_of_this_thread() as logged:
            try:
                built = self._build_issue(refetch)
            except DigestError as exc:
                log.error("build failed: %s", exc)
                failed = {"state": "error", "message": str(exc), "seconds": time.perf_counter() - started}
                return {**failed, "warnings": self._warnings(logged)}
            except Exception as exc:  # a bug: keep serving, show it
                message = f"{type(exc).__name__}: {exc}"
                log.error("build failed: %s", message)
                log.debug("%s", traceback.format_exc())
                failed = {"state": "error", "message": message, "seconds": time.perf_counter() - started}
                return {**failed, "warnings": self._warnings(logged)}
        seconds = time.perf_counter() - started
        slug = built.folder.name
        log.info("rebuilt %s in %.2f s (%s)", slug, seconds, self.status.reason)
        warnings = self._warnings(logged)
        return {
            "state": "ok",
            "message": "",
            "slug": slug,
            "seconds": seconds,
            "warnings": warnings,
            "checks": built.checks,
        }

    def _warnings(self, logged: list[str]) -> tuple[str, ...]:
        """What a build warned about: what it logged, and the feeds that failed (or were
        read in part) when they were last collected (a rebuild from the items kept does
        not collect them again)."""
        stats = self._collected.stats if self._collected else None
        failures = [*stats.feeds_failed, *stats.feeds_read_in_part] if stats else []
        # failed feeds first: the warnings logged are already capped, and would push them out
        return tuple(dict.fromkeys([f"{f.source}: {f.error}" for f in failures] + logged))[:MAX_WARNINGS]

    def _build_issue(self, refetch: bool) -> Built:
        """Load the config, collect if needed, build and publish."""
        config = load_config(self.sources)
        when = self.issue_date or datetime.now(ZoneInfo(config.newsletter.timezone)).date()
        self.config = config
        self.on_config(config, when)
        with Store(config.resolve(config.state)) as store:
            collected = self._collect(config, store, refetch)
            kept = collected.stats
            stats = dataclasses.replace(
                kept, feeds_failed=list(kept.feeds_failed), feeds_read_in_part=list(kept.feeds_read_in_part)
            )
            return build_issue(config, when, self.out, store, collected.items, stats, draft=True)

    def _collect(self, config: Config, store: Store, refetch: bool) -> _Collected:
        """The items of ``config``'s sources: kept from before unless the sources changed."""
        # a local feed file edited since is read again (still no network)
        key = (config.root, config.state, config.sources, config.fetch, _stamps(local_feeds(config)))
        if refetch or self._collected is None or self._collected.key != key:
            if refetch:
                log.info("fetching %d feeds", len(config.sources))
            items, stats = collect(config, store, offline=not refetch)
            self._collected = _Collected(key, items, stats)
        return self._collected


def _stamps(paths: list[Path]) -> tuple[tuple[Path, int, int], ...]:
    """Each file's modification time and size (-1 when missing): what tells an edit."""
    stamps = []
    for path in paths:
        try:
            stat = path.stat()
            stamps.append((path, stat.st_mtime_ns, stat.st_size))
        except OSError:
            stamps.append((path, -1, -1))
    return tuple(stamps)


def _describe(reasons: list[str]) -> str:
    """A short account of why a build runs: the first reason, and how many more."""
    unique = list(dict.fromkeys(reasons))
    more = f" and {len(unique) - 1} more" if len(unique) > 1 else ""
    return f"{unique[0]}{more}"


class _Collector(logging.Handler):
    """Keeps the first ``MAX_WARNINGS`` distinct warnings logged on one thread."""

    def __init__(self, thread: int, into: list[str]) -> None:
        super().__init__()
        self.thread, self.into = thread, into

    def emit(self, record: logging.LogRecord) -> None:
        # warnings only: a failed build shows its own error message
        if (
            record.levelno != logging.WARNING
            or record.thread != self.thread
            or len(self.into) >= MAX_WARNINGS
        ):
            return
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: the terminal shows it, the page skips it
            return
        if message not in self.into:
            self.into.append(message)


@contextmanager
def _warnings_of_this_thread() -> Iterator[list[str]]:
    """The warnings logged by digest on this thread while the block runs (a broken feed,
    a link in the notes that matches nothing): the editor looks at the page, not the
    terminal. Errors are not among them: a failed build shows its own message."""
    found: list[str] = []
    handler = _Collector(threading.get_ident(), found)
    root = logging.getLogger("digest")
    root.addHandler(handler)
    try:
        yield found
    finally:
        root.removeHandler(handler)
