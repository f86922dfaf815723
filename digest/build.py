"""The build: every stage of the pipeline, in order, from a config to an issue in ``out/``.

``collect`` runs fetch -> parse -> normalize; ``build_issue`` runs the rest. The
preview server calls the same functions with ``offline=True`` to re-render without
touching the network.
"""

from __future__ import annotations

import hashlib
import logging
import math
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .config import Config
from .curate import curate
from .errors import BuildError, ConfigError, NothingNew
from .fetch import Fetched, fetch_all
from .ingest import ingest
from .lock import publish_lock, publish_lock_path
from .models import FeedFailure, Issue, Item, Stats, Story
from .normalize import Normalized, canonical_url
from .notes import KEEP_APART, LEAD, LEAVE_OUT, SAME_STORY, Notes, link_groups, load_notes
from .publish import publish
from .render import Rendered, render_issue
from .store import Store

if TYPE_CHECKING:
    from .dedup import DedupSettings

log = logging.getLogger(__name__)
PARALLEL_FROM = 48  # sources; below this, starting worker processes costs more than it saves


@dataclass
class Built:
    """What a build produced."""

    issue: Issue
    rendered: Rendered
    folder: Path
    report: dict = field(default_factory=dict)  # the dedup report (dedup.json)

    @property
    def checks(self) -> tuple[str, ...]:
        """The titles of the issue's merged stories that the dedup report marks for a check
        (the report lists the day's others too: those left out of the issue need none),
        then each two of its stories that may be one event ("A" / "B")."""
        shown = {story.id for story in self.issue.stories}
        stories = self.report.get("stories", [])
        merged = (s["items"][0]["title"] for s in stories if s["check"] and s["id"] in shown)
        near = (f"“{n['a']['title']}” / “{n['b']['title']}”" for n in self.report.get("near_misses", []))
        return (*merged, *near)

    def to_check(self, report: str = "report.html") -> str:
        """ ", N merged stories and M pairs of stories to check in ``report``" for a log
        line, or "" when there are none."""
        near = len(self.report.get("near_misses", []))
        merged = len(self.checks) - near
        said = [f"{merged} merged {'story' if merged == 1 else 'stories'}"] if merged else []
        if near:
            said.append(f"{near} {'pair' if near == 1 else 'pairs'} of stories that may be one event")
        return f", {' and '.join(said)} to check in {report}" if said else ""


def collect(
    config: Config, store: Store, offline: bool = False, on_fetched: Callable[[Fetched], None] | None = None
) -> tuple[list[Item], Stats]:
    """Fetch, parse and normalize every source; failures land in ``stats.feeds_failed``."""
    fetched_at = datetime.now(UTC)
    results = fetch_all(config, store, offline=offline, on_done=on_fetched)
    stats, items, taken = Stats(), [], set()
    for result, outcome in zip(results, _parse_all(results, config, fetched_at)):
        if result.moved_to:  # the old address may answer 404 any day: the editor should know now
            log.warning(
                "%s: moved permanently to %s (put that in sources.yaml)", result.source.name, result.moved_to
            )
        if isinstance(outcome, str):
            log.warning("%s: %s", result.source.name, outcome)
            stats.feeds_failed.append(FeedFailure(result.source.name, outcome))
            continue
        if outcome.warning:
            log.warning("%s: %s", result.source.name, outcome.warning)
            stats.feeds_read_in_part.append(FeedFailure(result.source.name, outcome.warning))
        fresh = _with_unique_ids(outcome.items, taken)
        taken.update(i.id for i in fresh)
        items.extend(fresh)
        stats.feeds_ok += 1
        stats.items_filtered_out += outcome.filtered_out
        stats.items_over_max += outcome.over_max
        stats.items_untitled += outcome.untitled
        stats.items_repeated += outcome.repeated
    stats.items = len(items)
    _log_items_left_out(stats)
    store.record_items(items)
    return _dated(items, store, fetched_at), stats


def _dated(items: list[Item], store: Store, fetched_at: datetime) -> list[Item]:
    """``items``, each undated one dated by when digest first saw it: dated by this
    fetch, an undated item would look new every day and come back once the memory of
    published stories has forgotten it."""
    undated = [i.id for i in items if i.published is None]
    if not undated:
        return items
    seen = store.first_seen(undated)
    return [i if i.published else replace(i, published=seen.get(i.id, fetched_at)) for i in items]


def _log_items_left_out(stats: Stats) -> None:
    """One line on the entries of working feeds that never became items, if any."""
    _log_left_out(
        "entries",
        {
            "by a source's include/exclude": stats.items_filtered_out,
            "past a source's max_items": stats.items_over_max,
            "with neither a title nor text": stats.items_untitled,
            "with the link of another entry of their feed": stats.items_repeated,
        },
    )


def _with_unique_ids(feed: list[Item], taken: set[str]) -> list[Item]:
    """One feed's items (each id once already: ``normalize`` keeps the first entry of a
    link), with ids no earlier feed's item has.

    An item's id is a hash of its URL, so two sources carrying one article collide:
    both takes are kept (dedup joins them into one story and puts the heavier, more
    complete take in front), the later source's under an id of its own. Ids stay as
    they were in the common case, so they are stable from one run to the next."""
    return [item if item.id not in taken else replace(item, id=_source_id(item, taken)) for item in feed]


def _source_id(item: Item, taken: set[str]) -> str:
    """An id for ``item`` made from its source and URL, unlike any id in ``taken``."""
    key = f"{item.source}\n{item.url or item.id}"
    candidate, n = hashlib.sha1(key.encode("utf-8")).hexdigest()[:16], 1
    while candidate in taken:  # two sources of one name: tell them apart by their order
        candidate, n = hashlib.sha1(f"{key}\n{n}".encode()).hexdigest()[:16], n + 1
    return candidate


def _parse_all(results: list[Fetched], config: Config, fetched_at: datetime) -> list[Normalized | str]:
    """Each source's items, or its error. Parsing is CPU-bound: many feeds use every core."""
    jobs = [(r, config.source_section(r.source), fetched_at) for r in results]
    cores = min(os.cpu_count() or 1, 8)
    if len(jobs) < PARALLEL_FROM or cores < 2:
        return [ingest(job) for job in jobs]
    # This process parses a share too: every core busy with one process fewer (less memory).
    # It takes a little more than its share while the workers start up.
    own = min(len(jobs), round(len(jobs) / cores * 1.15))
    # "spawn": the caller may run threads (the preview server), which fork does not survive.
    with ProcessPoolExecutor(cores - 1, mp_context=multiprocessing.get_context("spawn")) as pool:
        theirs = pool.map(ingest, jobs[own:], chunksize=max(1, (len(jobs) - own) // (cores * 4)))
        mine = [ingest(job) for job in jobs[:own]]
        return mine + list(theirs)


def dedup_settings(config: Config) -> DedupSettings:
    """The deduplicator's settings: the config's values over the tuned defaults."""
    # dedup (numpy, scipy) is imported where it is used: the CLI and the
    # parse worker processes start without it.
    from .dedup import DedupSettings

    given = config.dedup.model_dump(exclude_none=True)
    known = {f.name for f in fields(DedupSettings)}
    return DedupSettings(**{k: v for k, v in given.items() if k in known})


def build_issue(
    config: Config,
    issue_date: date,
    out: Path,
    store: Store,
    items: list[Item],
    stats: Stats,
    resent: bool = False,
    draft: bool = False,
) -> Built:
    """Dedup, curate, render and publish the issue of ``issue_date`` from ``items``.

    An issue already sent, or sent to some readers (a send interrupted, or running), is
    not rebuilt unless ``resent`` says so: its archived copy and what counts as published
    would change to stories no reader was mailed, and the rest of the list would get
    another issue than the first readers.

    ``draft``: the preview builds it, to be looked at; its stories do not count as
    published for later issues until it is sent, or built by ``build`` or ``run``."""
    from .dedup import dedup, only_retelling, report, retold_takes

    if store.issue_sent(issue_date.isoformat()) and not resent:
        raise ConfigError(
            f"the issue of {issue_date} was already sent: rebuilding it would change its archived "
            "copy and what counts as published to stories nobody was mailed (build --force does it anyway)"
        )
    status = store.send_status(issue_date.isoformat())
    if status and not resent:
        raise ConfigError(_half_sent(issue_date, out, set(status.values())))
    if not items:
        why = "see the errors above" if stats.feeds_failed else "every feed is empty or filtered out"
        raise BuildError(f"nothing to build: no source returned any item ({why})")
    notes = notes_for(config, issue_date)
    steer = directives(notes, items)
    settings = dedup_settings(config)
    stories = dedup(items, settings, steer.apart, steer.together)
    story_of = {item.id: story for story in stories for item in story.items}
    left_out = {story_of[i].id for i in steer.drops}
    since = (issue_date - timedelta(days=memory_days(config))).isoformat()
    earlier = store.published_before(issue_date.isoformat(), since)
    old = retold_takes(stories, earlier, settings) if earlier else set()
    published = only_retelling(stories, old)
    published = published - _new_kept_apart(stories, steer.apart, earlier) - left_out
    for story in stories:
        if story.id not in published:
            _new_takes_first(story, old)
    lead = _chosen_lead([story_of[i] for i in steer.leads], left_out, published)
    day = issue_date.isoformat()
    # one build at a time from the number it peeks at to the folder in place: two builds
    # at once (cron and a preview) would publish the same number, or half-write one folder
    with publish_lock(publish_lock_path(config)):
        number = store.next_issue_number(day)
        stats.stories_left_out_in_notes, stats.stories_published_before = len(left_out), len(published)
        shown = [s for s in stories if s.id not in published and s.id not in left_out]
        issue = curate(shown, config, issue_date, number, stats, lead.id if lead else None)
        _log_stories_left_out(stats)
        _log_most_covered_left_out(issue.over_cap)
        if lead and issue.lead is not lead:  # curate passes over a story dated after the day
            why = "dated after the issue's day: it does not lead"
            log.warning("'Lead' in the notes names '%.80s', %s", lead.lead.title, why)
        if not issue.stories:
            raise NothingNew(day, *_nothing_new(config, issue_date, len(items), stats))
        rendered = render_issue(issue, config, notes)

        def record() -> None:  # once the folder is written, just before it goes in place
            with store.transaction():
                store.issue_number(day, day, draft)  # the number peeked at: no other build ran meanwhile
                store.record_issue(number, issue.title, issue.stories)

        facts = report(stories, steer.apart, steer.unknown, {story.id for story in issue.stories})
        folder = publish(issue, rendered, facts, config, out, before_swap=record)
    return Built(issue, rendered, folder, facts)


def memory_days(config: Config) -> int:
    """Days of earlier issues whose stories are not repeated: ``dedup.memory_days``, and at
    least the longest lookback of a section (0 turns memory off). A post still in its feed
    is within a lookback of 10 days for 10 days: with a memory of 7 it went out again."""
    if not config.dedup.memory_days:
        return 0
    lookbacks = [config.curate.lookback_days, *(s.lookback_days or 0 for s in config.sections)]
    return max(config.dedup.memory_days, math.ceil(max(lookbacks)) + 1)


def _new_takes_first(story: Story, old: set[str]) -> None:
    """Put the takes of ``story`` that are not in ``old`` (takes an earlier issue
    published) in front, each part in its display order: a story kept for its new takes
    must not lead with yesterday's headline, which reads as a repeat."""
    fresh = [item for item in story.items if item.id not in old]
    if fresh and len(fresh) < len(story.items):
        story.items[:] = fresh + [item for item in story.items if item.id in old]


def _nothing_new(config: Config, issue_date: date, items: int, stats: Stats) -> tuple[str, str]:
    """Why the issue of ``issue_date`` has no story (the day aside), and what to try: the
    notes' ``Leave out`` first, as the lookback and --date do not help there."""
    noted, found = stats.stories_left_out_in_notes, stats.stories_left_out
    if noted:
        rest = "" if noted == found else f"; the other {found - noted} are not new or not within the lookback"
        notes = notes_path(config, issue_date)
        return f"'Leave out' in {notes} leaves out {noted} of the {found} stories{rest}", ""
    why = f"{items} items, none new and within {config.curate.lookback_days:g} days"
    return why, "try --date, or curate.lookback_days"


def _half_sent(issue_date: date, out: Path, statuses: set[str]) -> str:
    """Why an issue sent to part of the list is not rebuilt, and what finishes it."""
    folder = out / issue_date.isoformat()
    if not (folder / "issue.json").is_file():
        return (
            f"the issue of {issue_date} went to part of the list, and its folder {folder} is gone: "
            f"'digest build --date {issue_date} --force' builds it anew (the rest of the list then gets "
            "the new issue)"
        )
    doubt = " --retry-unknown" if "sending" in statuses else ""
    return (
        f"the send of the issue of {issue_date} began and is not finished: rebuilding it would mail the "
        f"rest of the list another issue than the first readers got (finish it with 'digest send "
        f"{issue_date}{doubt}'; build --force rebuilds anyway)"
    )


def _log_stories_left_out(stats: Stats) -> None:
    """One line on the stories found but left out of the issue, and why, if any were."""
    _log_left_out(
        "stories",
        {
            "left out in the notes": stats.stories_left_out_in_notes,
            "already published in an earlier issue": stats.stories_published_before,
            "older than the lookback": stats.stories_too_old,
            "dated after the issue's day": stats.stories_too_new,
            "over a section's max_stories": stats.stories_over_cap,
        },
        found=stats.stories + stats.stories_left_out,
    )


def _log_most_covered_left_out(over_cap: list[Story], shown: int = 3) -> None:
    """The stories a section's cap left out that most outlets covered, if any several
    did: the editor may want one in (``sections[].max_stories``, or ``## Lead``)."""
    counted = ((len(s.outlets), s) for s in over_cap)
    covered = sorted(((count, s) for count, s in counted if count > 1), key=lambda c: -c[0])
    if covered:
        named = "; ".join(f"'{s.lead.title:.80}' ({count} outlets)" for count, s in covered[:shown])
        more = f" and {len(covered) - shown} more" if len(covered) > shown else ""
        log.info("over the cap, yet covered by several outlets: %s%s (all in report.html)", named, more)


def _log_left_out(what: str, reasons: dict[str, int], found: int | None = None) -> None:
    """One line on the ``what`` left out, by reason (out of ``found``), if any were."""
    left = sum(reasons.values())
    if left:
        why = ", ".join(f"{count} {reason}" for reason, count in reasons.items() if count)
        of = f" of {found}" if found is not None else ""
        log.info("left out %d%s %s: %s", left, of, what, why)


def _new_kept_apart(stories: list[Story], apart: list[list[str]], earlier: list[Item]) -> set[str]:
    """Ids of the stories holding a take the notes keep apart that no earlier issue
    published itself (same link, or GUID of one feed): the editor says it tells another
    event than the takes it looked like, so it is not a repeat of theirs either."""
    fenced = {item_id for group in apart for item_id in group}
    told = {key for item in earlier for key in _article(item)}

    def new(item: Item) -> bool:
        return item.id in fenced and told.isdisjoint(_article(item))

    return {story.id for story in stories if any(new(item) for item in story.items)}


def _article(item: Item) -> set[object]:
    """What names the article of ``item``: its link, and its GUID in its feed (another
    feed's "1" is another article)."""
    return {key for key in (item.url, (item.source, item.guid) if item.guid else "") if key}


def _chosen_lead(stories: list[Story], left_out: set[str], published: set[str]) -> Story | None:
    """The story the notes' ``Lead`` names (``stories``: the story of each take it
    names), if it may lead: not left out, nor published in an earlier issue; else a
    warning names it and why."""
    named = list({story.id: story for story in stories}.values())
    if len(named) > 1:
        log.warning("'Lead' in the notes names takes of %d stories: the first leads", len(named))
    if not named:
        return None
    first = named[0]
    if first.id in left_out or first.id in published:
        why = "which 'Leave out' leaves out" if first.id in left_out else "which an earlier issue published"
        log.warning("'Lead' in the notes names '%.80s', %s: it does not lead", first.lead.title, why)
        return None
    return first


@dataclass
class Directives:
    """The notes' directives for the day (see ``notes.DIRECTIVES``), as item ids."""

    apart: list[list[str]]  # Keep apart: each group a story of its own
    together: list[list[str]]  # Same story: each group's stories one
    leads: list[str]  # Lead: the first one's story leads
    drops: list[str]  # Leave out: their stories are not in the issue
    unknown: list[str]  # the links that no item of the day has


def directives(notes: Notes, items: list[Item]) -> Directives:
    """The directives of ``notes``, their links matched to ``items`` (compared in
    canonical form, as items keep theirs, then loosely: see ``_loose``). A link that no
    item of the day has is named in a warning: a typo there would change nothing."""
    if not any(block.is_directive for block in notes):
        return Directives([], [], [], [], [])
    ids_of: dict[str, list[str]] = {}
    loosely: dict[str, list[str]] = {}  # a link as editors may mistype it: http, www., a slash
    for item in items:
        if item.url:
            ids_of.setdefault(item.url, []).append(item.id)
            loosely.setdefault(_loose(item.url), []).append(item.id)

    def ids(url: str) -> list[str]:
        canonical = canonical_url(url)
        return ids_of.get(canonical) or (loosely.get(_loose(canonical), []) if canonical else [])

    unknown: list[str] = []
    apart, together, leads, drops = (
        _linked(notes, heading, ids, unknown) for heading in (KEEP_APART, SAME_STORY, LEAD, LEAVE_OUT)
    )
    flat = lambda groups: [i for group in groups for i in group]  # noqa: E731
    return Directives(apart, together, flat(leads), flat(drops), unknown)


def _linked(
    notes: Notes, heading: str, ids: Callable[[str], list[str]], unknown: list[str]
) -> list[list[str]]:
    """The item ids (``ids`` of each link) of each group of takes that the notes'
    directive ``heading`` names; the links that name none are added to ``unknown``."""
    groups: list[list[str]] = []
    for urls in link_groups(notes, heading):
        group = []
        for url in urls:
            found = ids(url)
            if not found:
                where = heading.capitalize()
                log.warning("'%s' in the notes names %.200s, which no item of the day links to", where, url)
                unknown.append(url[:200])
            group += found
        if group:
            groups.append(group)
    return groups


def _loose(url: str) -> str:
    """A canonical ``url`` without what sites serve alike and editors get wrong: the
    scheme, a leading "www." and a trailing slash."""
    parts = urlsplit(url)
    return f"{parts.netloc.removeprefix('www.')}{parts.path.rstrip('/')}?{parts.query}"


def notes_for(config: Config, issue_date: date) -> Notes:
    """The editor's notes for ``issue_date`` (none if the file does not exist)."""
    return load_notes(notes_path(config, issue_date))


def notes_path(config: Config, issue_date: date) -> Path:
    """Where the notes file of ``issue_date`` lives."""
    return config.resolve(config.notes.replace("{date}", issue_date.isoformat()))
