"""The data passed between pipeline stages, defined once.

Stages are functions from one of these to the next; see DESIGN.md for the pipeline.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import SourceConfig

# A per-reader field that sending fills: %%NAME%%, or %%NAME|there%% with a fallback for a
# reader who has no value (regular-expression parts: the name, the fallback's text)
FIELD_NAME = r"[A-Z][A-Z0-9_]*"
FIELD_FALLBACK = r"[^%\r\n]{1,80}"


@dataclass(frozen=True)
class Fetched:
    """The outcome of fetching one source: a body to parse, or an error to report.

    ``url`` is the address as configured; ``base`` is where the body really came from
    after redirects (relative links in it resolve against that), "" for a local file;
    ``moved_to`` the address the feed moved to for good (a 301 or 308), "" if none.
    """

    source: SourceConfig
    url: str
    body: bytes | None = None
    status: int | None = None
    error: str | None = None
    cached: bool = False
    base: str = ""
    moved_to: str = ""


@dataclass(frozen=True)
class Entry:
    """One entry as a feed gave it, before normalization.

    ``title`` is plain text (possibly mojibake), ``summary`` and ``content`` are
    untrusted HTML, ``link`` may be relative to ``base``.
    """

    source: str
    base: str
    title: str = ""
    link: str = ""
    guid: str = ""
    published: datetime | None = None
    summary: str = ""
    content: str = ""
    image: str = ""
    author: str = ""
    publisher: str = ""  # an aggregator's item: the outlet its RSS <source> names
    discussion: str = ""  # where readers discuss it (RSS <comments>: a forum's thread)


@dataclass(frozen=True)
class Item:
    """One article from one feed, normalized.

    ``summary`` and ``text`` are plain text; ``html`` is sanitized markup safe to embed.
    ``published`` is timezone-aware UTC.
    """

    id: str
    title: str
    url: str
    source: str
    published: datetime | None = None
    summary: str = ""
    text: str = ""
    html: str = ""
    image: str | None = None
    author: str | None = None
    guid: str | None = None
    section: str | None = None
    weight: float = 1.0
    discussion: str | None = None  # where readers discuss it (a forum's thread), if the feed says


@dataclass(frozen=True)
class Link:
    """Why two items of a story were joined: their similarity and what they share."""

    a: str
    b: str
    layer: str  # "same-item", "same-text", "same-event" or "editor"; "near-miss" between two stories
    similarity: float
    shared: tuple[str, ...] = ()
    doubt: str = ""  # why an editor should look at this join, whatever its score ("" if nothing)


@dataclass(frozen=True)
class Takeaway:
    """One fact of a story, as a bullet, with the take it came from."""

    text: str
    url: str
    source: str


def relayed(outlet: str, aggregator: str) -> str:
    """The source name of ``outlet``'s take as ``aggregator`` relays it."""
    return f"{outlet} (via {aggregator})"


@dataclass
class Story:
    """One event: every take on it, the representative first."""

    id: str
    items: list[Item]
    links: list[Link] = field(default_factory=list)
    near: list[Link] = field(default_factory=list)  # its takes' near misses with another story's (a first)
    emoji: str = ""
    takeaways: list[Takeaway] = field(default_factory=list)
    body: list[str] = field(default_factory=list)  # the lead story's summary, in paragraphs

    @property
    def lead(self) -> Item:
        """The representative take, shown in front."""
        return self.items[0]

    @property
    def outlets(self) -> dict[str, float]:
        """Each outlet that covered the story, with the weight of its heaviest take."""
        weights: dict[str, float] = {}
        for item in self.items:
            weights[item.source] = max(weights.get(item.source, 0.0), item.weight)
        return weights

    @property
    def also(self) -> list[Item]:
        """The other takes, shown as "also covered by": not the front take's own article
        relayed by an aggregator ("The Verge (via Google News)" under The Verge's take of
        the same headline), which covers nothing more. A forum's post of another take's
        article ("GPT-5.5 (openai.com)" under OpenAI's post) links to its thread, where
        the forum covers it, not to the article a second time."""
        lead = self.lead
        relay = relayed(lead.source, "")[:-1]  # "The Verge (via ", any aggregator
        headline = " ".join(lead.title.casefold().split())
        articles = Counter(item.url for item in self.items)
        return [
            replace(item, url=item.discussion) if item.discussion and articles[item.url] > 1 else item
            for item in self.items[1:]
            if not (item.source.startswith(relay) and " ".join(item.title.casefold().split()) == headline)
        ]

    @property
    def pictured(self) -> Item | None:
        """The take whose picture the story shows: the front take when it has one, else
        the first other take that has one (the lead showed none when only another
        outlet's feed carried a picture); None when no take has one."""
        return next((item for item in self.items if item.image), None)

    @property
    def published(self) -> datetime | None:
        """The earliest publication time among the takes."""
        dates = [i.published for i in self.items if i.published]
        return min(dates) if dates else None

    def newest(self, before: datetime) -> datetime | None:
        """The newest publication time among the takes dated before ``before``: how
        recent the story is as of then (a take from after it does not count yet)."""
        dates = [i.published for i in self.items if i.published and i.published < before]
        return max(dates) if dates else None


@dataclass
class Section:
    """A titled block of the issue with its stories in display order."""

    id: str
    title: str
    style: str
    stories: list[Story]


@dataclass(frozen=True)
class FeedFailure:
    """A source that could not be fetched or parsed, and why."""

    source: str
    error: str


@dataclass
class Stats:
    """Counts reported in issue.json.

    ``stories`` counts the stories in the issue; each story dedup found and the issue
    left out is counted once more, under the first reason that left it out: the
    editor's notes (``Leave out``), already published in an earlier issue, older than
    its section's lookback, dated after the issue's day (an issue built for an earlier
    date), or past its section's ``max_stories``."""

    feeds_ok: int = 0
    feeds_failed: list[FeedFailure] = field(default_factory=list)
    feeds_read_in_part: list[FeedFailure] = field(default_factory=list)  # malformed and large: see parse
    items: int = 0
    # entries of working feeds that never became items: by a source's include/exclude,
    # past its max_items, with neither a title nor text to make one from, or repeating
    # the link of another entry of the feed
    items_filtered_out: int = 0
    items_over_max: int = 0
    items_untitled: int = 0
    items_repeated: int = 0  # a second entry of one feed with the same link: one item
    stories: int = 0
    stories_left_out_in_notes: int = 0
    stories_published_before: int = 0
    stories_too_old: int = 0
    stories_too_new: int = 0
    stories_over_cap: int = 0

    @property
    def stories_left_out(self) -> int:
        """Stories found but not in the issue, for every reason."""
        return (
            self.stories_left_out_in_notes
            + self.stories_published_before
            + self.stories_too_old
            + self.stories_too_new
            + self.stories_over_cap
        )


@dataclass
class Issue:
    """A finished issue, ready to render."""

    newsletter: str
    number: int
    date: str  # YYYY-MM-DD
    slug: str
    title: str
    subtitle: str
    sections: list[Section]
    stats: Stats
    lead: Story | None = None
    over_cap: list[Story] = field(default_factory=list)  # left out by a section's cap, best ranked first
    show_subtitle: bool = True  # under the title; False when the lead's body is that sentence alone

    @property
    def stories(self) -> list[Story]:
        """Every story of the issue, section by section."""
        return [s for section in self.sections for s in section.stories]
