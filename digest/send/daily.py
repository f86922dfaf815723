"""``digest run``: the cron job. Build today's issue and send it, once.

Order of checks: already sent today -> nothing to do; what sending needs here missing
(recipients, password, secret) -> stop before building; a send already started for
today -> resume it with the issue as built (never rebuild half-way through the list);
otherwise build, and skip the day when there is nothing new (``curate.skip_when_empty``).
The caller holds the run lock (``digest.lock``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from ..build import build_issue, collect
from ..config import Config
from ..errors import NothingNew
from ..models import Fetched
from ..retention import forget_old
from ..store import Store
from .delivery import Outcome, SendSummary, ready_to_send, send_issue
from .issue import load_issue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    """What ``run_daily`` did (sent, already sent, or nothing new), as one line."""

    message: str
    summary: SendSummary | None = None


def run_daily(
    config: Config,
    when: date,
    out: Path,
    store: Store,
    on_result: Callable[[Outcome], None] | None = None,
    on_fetched: Callable[[Fetched], None] | None = None,
) -> RunResult:
    """Build the issue of ``when`` (unless a send of it already began) and send it;
    ``on_fetched`` hears of each source as its fetch ends, ``on_result`` of each recipient."""
    key = when.isoformat()
    _warn_unfinished(store, when)
    if store.issue_sent(key):
        return RunResult(f"the issue of {key} was already sent; nothing to do")
    recipients = ready_to_send(config)  # before the build: a run that cannot send uses up nothing
    folder = out / key
    if store.send_status(key) and (folder / "issue.json").is_file():
        log.info("resuming the send of %s, as built (not rebuilt mid-list)", key)
    else:
        items, stats = collect(config, store, on_fetched=on_fetched)
        forget_old(config, store)
        try:
            built = build_issue(config, when, out, store, items, stats)
            folder = built.folder
            stories = len(built.issue.stories)
            checks = built.to_check(str(folder / "report.html"))
            log.info("built issue #%d of %s: %d stories%s", built.issue.number, key, stories, checks)
        except NothingNew as exc:  # a quiet day; no items at all (every feed down) is a failure
            if not config.curate.skip_when_empty:
                raise
            return RunResult(
                f"no issue for {key}, a day without new stories (curate.skip_when_empty): {exc.reason}"
            )
    summary = send_issue(config, load_issue(folder), store, recipients, on_result=on_result)
    return RunResult(summary.line(), summary)


UNFINISHED_DAYS = 7  # how far back a run looks for an earlier send left unfinished
STATUS_WORDS = {"sending": "in doubt"}  # a "sending" row: the relay may or may not have it


def _warn_unfinished(store: Store, when: date) -> None:
    """Name each recent earlier issue whose send never finished (recipients deferred or in
    doubt, or a crash), with the command that finishes it: a run sends only its own day's
    issue, and never resends those in doubt by itself."""
    since = (when - timedelta(days=UNFINISHED_DAYS)).isoformat()
    for issue, counts in store.unfinished_sends(when.isoformat(), since):
        command = f"digest send {issue}" + (" --retry-unknown" if counts["sending"] else "")
        if not counts:  # built, but its send never reached a recipient (a relay down)
            log.warning(
                "the issue of %s was built but never sent, and later issues leave its stories "
                "out: '%s' sends it",
                issue,
                command,
            )
            continue
        done = ", ".join(f"{n} {STATUS_WORDS.get(status, status)}" for status, n in sorted(counts.items()))
        log.warning("the send of the issue of %s never finished (%s): '%s' finishes it", issue, done, command)
