"""Retention: what the state file and the dry runs keep, so a daily run can go on for years.

Each build or run forgets what no command reads any more, and nothing that one still does:

- the feed cache of a source no longer in the config;
- an item not seen in its feed for ``item_days``: well past every window that reads when
  it was first seen (forgotten while still in its feed, an undated item would look new);
- the takes published by issues dated more than ``published_days`` before the latest
  issue: past the memory of any issue since, and of a rebuild of the last ``REBUILD_DAYS``;
- the per-recipient log of an issue that went to the whole list more than
  ``retention.send_log_days`` before the latest; an unfinished send keeps its log (a
  later send, or ``--retry-unknown``, reads it), and a send of a cleared one sends nothing;
- a ``send --dry-run`` folder untouched for ``DRY_RUN_DAYS``.

Issue rows stay: one a day, they keep numbers going and say an old issue was sent.
"""

from __future__ import annotations

import logging
import math
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta

from .build import memory_days
from .config import Config
from .errors import StateError
from .fetch import feed_addresses
from .send.delivery import dry_runs
from .store import Retention, Store

log = logging.getLogger(__name__)

ITEM_DAYS_AT_LEAST = 90  # an item unseen this long is forgotten, whatever the windows
REBUILD_DAYS = 30  # a rebuild of an issue this recent still remembers all it did the first time
DRY_RUN_DAYS = 7  # a dry run's messages are there to be looked at, not kept


def item_days(config: Config) -> int:
    """Days an item gone from its feed is remembered: twice the longest window that reads
    when it was first seen (a section's lookback, the memory of published stories, the
    dedup window), and at least ``ITEM_DAYS_AT_LEAST``; a feed that drops a post and
    shows it again weeks later does not make it new."""
    lookbacks = [config.curate.lookback_days, *(s.lookback_days or 0 for s in config.sections)]
    windows = (config.dedup.memory_days, math.ceil(max(lookbacks)) + 1, math.ceil(config.dedup.window_days))
    longest = max(windows)
    return max(ITEM_DAYS_AT_LEAST, 2 * longest)


def published_days(config: Config) -> int:
    """Days before the latest issue whose published takes are kept: the memory of the
    issue of any day since the latest ``REBUILD_DAYS``."""
    return memory_days(config) + REBUILD_DAYS


def forget_old(config: Config, store: Store, now: datetime | None = None) -> None:
    """Forget what ``config`` no longer needs (see the module), give a large amount of
    freed space back to the file system, and log a line if anything went."""
    now = now or datetime.now(UTC)
    keep = Retention(
        feeds=feed_addresses(config),
        items_seen_since=(now - timedelta(days=item_days(config))).isoformat(timespec="seconds"),
        published_days=published_days(config),
        send_log_days=config.retention.send_log_days,
        today=now.date(),
    )
    try:
        deleted = store.forget(keep)
        reclaimed = store.reclaim_space() if deleted else 0
    except StateError as exc:  # a full disk or a long lock: not worth the day's issue
        log.warning("could not forget old state, the next build tries again: %s", exc)
        deleted, reclaimed = Counter(), 0
    folders = _remove_old_dry_runs(config, now)
    if deleted or folders:
        parts = [f"{n:,} {what} rows" for what, n in sorted(deleted.items())]
        parts += [f"{folders} dry-run folders"] if folders else []
        space = f" ({reclaimed / 1e6:.1f} MB given back to the file system)" if reclaimed else ""
        log.info("forgot what no command needs any more: %s%s", ", ".join(parts), space)


def _remove_old_dry_runs(config: Config, now: datetime) -> int:
    """Remove the dry-run folders not written for ``DRY_RUN_DAYS``; return how many."""
    root = dry_runs(config)
    if not root.is_dir():
        return 0
    before = now.timestamp() - DRY_RUN_DAYS * 86400
    old = [folder for folder in root.iterdir() if folder.is_dir() and folder.stat().st_mtime < before]
    for folder in old:
        shutil.rmtree(folder, ignore_errors=True)
    return len(old)
