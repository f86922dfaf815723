"""The public surface of dedup: settings, items to stories, the report, the JSONL contract."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ..models import Item, Link, Story
from ..normalize import without_boilerplate
from . import text as tx
from .cluster import UnionFind
from .engine import NEAR_MISS, Params, cluster, collector_paused, normalized_title, two_posts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DedupSettings:
    """Tunables of deduplication; the defaults are tuned on the evaluation sets."""

    threshold: float = 0.30  # mean same-event probability needed to merge two clusters (one for all kinds)
    window_days: float = 3.0  # max time gap between takes of one event
    memory_days: int = 7  # how far back already_published looks (the caller picks the items)
    neighbors: int = 20  # candidates kept per item, by rare terms
    meaning_neighbors: int = 5  # and by meaning (word vectors)
    min_candidate_similarity: float = 0.05  # rare-term cosine below which pairs are not scored
    same_text_jaccard: float = 0.5  # word-3-shingle Jaccard of a syndicated copy
    time_penalty: float = 2.0  # log-odds taken off a pair whose gap is the whole window
    min_shared_terms: int = 3  # title-and-lead terms a same-event pair must share

    def params(self, window_days: float | None = None) -> Params:
        """The engine's view of these settings."""
        return Params(
            self.threshold,
            self.window_days if window_days is None else window_days,
            self.neighbors,
            self.meaning_neighbors,
            self.min_candidate_similarity,
            self.same_text_jaccard,
            self.time_penalty,
            self.min_shared_terms,
        )


def _display_key(item: Item, position: int) -> tuple:
    """Representative first: source weight, then a report over a take that is not one,
    then a headline that names its firm over one that only describes it, then
    completeness, then earliest, then input order."""
    completeness = (
        _reports(item),
        not tx.describes_only(item.title or ""),  # "Meta strikes…" over "Facebook parent signs…"
        bool(item.summary),
        bool(item.image),
        len(item.text or item.summary or ""),
    )
    when = item.published.timestamp() if item.published else float("inf")
    return (-item.weight, *(-int(c) for c in completeness), when, position)


# what tells of an event without reporting it: a question for a headline, an explainer
# ("Mistral's mega-round: what it means for European AI"), a forum's post
# of a link ("Show HN: …", "Llama 5 (ai.meta.com)"), a lead in the first person ("On
# balance I think…"; "Today we're releasing o5, our…", a firm's own post, whose headline,
# "Introducing o5", does not say whose). Such a take fronted a story when its text was two
# characters longer. On a labeled day of AI news, "we" changed 7 of 48 front takes, each
# to a report that names who did what
_NOT_A_REPORT_TITLE = re.compile(
    rf"\?[\s\"'”’]*$|^(?:show|ask|tell) hn\b|\bwhat (?:it|this|that) means\b|{tx.LINKED_SITE}", re.I
)
_FIRST_PERSON = re.compile(
    r"\b(?:I|I'm|I’m|I've|I’ve|I'd|I’d|me|my|[Ww]e|[Ww]e['’](?:re|ve|d|ll)|[Oo]ur|us)\b"
)
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")  # a quote's "I" is its speaker's, not the writer's
LEAD_CHARS = 400  # of the summary (or text) where a column shows itself
LABEL_WORDS = 4  # a headline of fewer words names a thing ("Mistral Small 4") rather than telling news
_TITLE_WORD = re.compile(r"\w[\w'’]*")  # "Meta's" is one word
_UNSPACED = re.compile(f"[{tx.HAN}{tx.KATAKANA}{tx.HIRAGANA}\u0e00-\u0e7f]")  # and Thai


def _reports(item: Item) -> bool:
    """Whether ``item`` reads as a report of its event (see ``_NOT_A_REPORT_TITLE``)."""
    title = item.title or ""
    lead = _QUOTED.sub("", (item.summary or item.text or "")[:LEAD_CHARS])
    return not (_labelled(title) or _NOT_A_REPORT_TITLE.search(title) or _FIRST_PERSON.search(lead))


def _labelled(title: str) -> bool:
    """Whether ``title`` names a thing rather than telling news: "Grok 5", "Mistral Small
    4", but not "Nvidia buys Arm" (a kind of event), nor a headline of a script written
    without spaces between words (Chinese, Japanese, Thai), whose words are not counted."""
    if _UNSPACED.search(title) or len(_TITLE_WORD.findall(title)) >= LABEL_WORDS:
        return False
    return not tx.event_kinds(title)


def story_id(items: Sequence[Item]) -> str:
    """A stable id for a story: derived from its representative's id."""
    return "s-" + hashlib.sha1(items[0].id.encode("utf-8")).hexdigest()[:12]


def _stories(items: Sequence[Item], labels: list[int], links: list[Link]) -> list[Story]:
    members: dict[int, list[int]] = {}
    for position, label in enumerate(labels):
        members.setdefault(label, []).append(position)
    label_of = {items[p].id: label for p, label in enumerate(labels)}
    by_label: dict[int, list[Link]] = {}
    near: dict[int, list[Link]] = {}  # a near miss joins two stories: the first take's holds it
    for link in links:
        if link.layer != "near-miss":
            by_label.setdefault(label_of[link.a], []).append(link)
        elif label_of[link.a] != label_of[link.b]:  # the editor's "Same story" may have joined them
            near.setdefault(label_of[link.a], []).append(link)
    stories = []
    for label, positions in members.items():  # dicts keep first-seen order: input order
        if len(positions) > 1:
            positions.sort(key=lambda p: _display_key(items[p], p))
        ordered = [items[p] for p in positions]
        stories.append(Story(story_id(ordered), ordered, by_label.get(label, []), near.get(label, [])))
    return stories


def dedup(
    items: Sequence[Item],
    settings: DedupSettings = DedupSettings(),
    apart: Iterable[Iterable[str]] = (),
    together: Iterable[Iterable[str]] = (),
) -> list[Story]:
    """Group ``items`` into stories: every item in exactly one, stories in input order of
    their first item, each story's items in display order, with the links that joined them.

    The editor's corrections, as groups of item ids: each group of ``apart`` joins no
    item outside it (its items may join each other; an id in two groups counts in the
    first); the stories of the items of each group of ``together`` become one, unless
    ``apart`` keeps them apart (then a warning says so). Unknown ids are ignored."""
    fence = {}
    for number, group in enumerate(apart, start=1):
        for item_id in group:
            fence.setdefault(item_id, number)
    fences = [fence.get(item.id, 0) for item in items] if fence else []
    with collector_paused():
        labels, links = cluster(items, settings.params(), fences)
        if together:
            labels = _joined(items, labels, links, fence, together)
        return _stories(items, labels, links)


def _joined(
    items: Sequence[Item],
    labels: list[int],
    links: list[Link],
    fence: dict[str, int],
    together: Iterable[Iterable[str]],
) -> list[int]:
    """``labels`` with the stories of each group of ``together`` made one (a link of layer
    "editor" for each join), save those that ``fence`` keeps apart."""
    uf = UnionFind(len(items))
    for k, label in enumerate(labels):
        uf.union(k, label)
    position = {item.id: k for k, item in enumerate(items)}
    for group in together:
        by_fence: dict[int, list[str]] = {}  # the takes of one fence join; no take joins another fence
        for i in dict.fromkeys(group):
            if i in position:
                by_fence.setdefault(fence.get(i, 0), []).append(i)
        if len(by_fence) > 1:
            firsts = [items[position[ids[0]]].title for ids in by_fence.values()]
            log.warning("kept apart, and not joined: %s", " / ".join(f"{t:.60}" for t in firsts))
        for ids in by_fence.values():
            for other in ids[1:]:
                a, b = position[ids[0]], position[other]
                if uf.union(a, b):
                    links.append(Link(items[a].id, items[b].id, "editor", 1.0, ()))
    return [uf.find(k) for k in range(len(items))]


def already_published(
    stories: Sequence[Story], previous: Sequence[Item], settings: DedupSettings
) -> set[str]:
    """Ids of ``stories`` that only retell what an earlier issue published: every take
    of the story joins an item of ``previous`` (the caller picks the last
    ``memory_days`` of them).

    The same article (URL, GUID or title) is found however old; another outlet's take
    only within ``window_days`` of the published one, as in an issue: takes further
    apart are other events (a ruling days after the lawsuit). Another post of a series of
    the outlet's (its title the same but for its numbers) is its next instalment, not the
    published one told again. A story with one take that is new is kept whole: hiding it
    for a wrong match would lose a story, while missing a repeat shows one twice.
    Measured on allsides2021 split into daily issues with a take of 4 in 10 events moved
    1-3 days later: stories wrongly dropped fell from 31-35 to 10-16, repeats shown again
    rose from 4-6 to 5-9 (four seeds)."""
    return only_retelling(stories, retold_takes(stories, previous, settings))


def only_retelling(stories: Sequence[Story], retold: set[str]) -> set[str]:
    """Ids of ``stories`` all of whose takes are among the ``retold`` ones."""
    return {story.id for story in stories if all(item.id in retold for item in story.items)}


def retold_takes(stories: Sequence[Story], previous: Sequence[Item], settings: DedupSettings) -> set[str]:
    """Ids of the takes of ``stories`` that join an item of ``previous`` (see
    ``already_published``): in a story kept for its other takes, these are what readers
    saw before, and a new take goes in front of them."""
    if not stories or not previous:
        return set()
    current = [item for story in stories for item in story.items]
    series: dict[tuple[str, str], list[Item]] = {}
    for item in current:
        series.setdefault(_series(item), []).append(item)
    # an outlet's earlier take may well be on today's event: no one-outlet constraint
    # between them, but in a series of the outlet's (episode 120 and 121 of a show, the
    # papers of two days, a weekly roundup), where another post is another instalment
    old = [replace(item, id=f"\0previous:{n}") for n, item in enumerate(previous)]
    outlets = [item.source for item in current] + [
        item.source if any(two_posts(item, other) for other in series.get(_series(item), ())) else ""
        for item in old
    ]
    labels, _ = cluster([*current, *old], settings.params(), outlets=outlets, near_misses=False)
    with_previous = set(labels[len(current) :])
    return {item.id for item, label in zip(current, labels) if label in with_previous}


def _series(item: Item) -> tuple[str, str]:
    """The source of ``item`` and its title without its numbers, as one name for the
    posts of a series: "Daily papers 2025-06-14" and "Daily papers 2025-06-15"."""
    words = normalized_title(item.title or "").split()
    return item.source, " ".join(word for word in words if not any(c.isdigit() for c in word))


CHECK_BELOW = 0.7
"""A merged story whose weakest same-event join scored below this is marked for a second
look. Held out, such joins are 13-20% of the AllSides joins (whole halves, and days of one
beat; a fifth to a third of the merged stories) and hold 41-47% of the wrong ones; on ECB+,
1-3% of the joins and up to a quarter of the wrong ones. The same-item and same-text
layers, and the editor's joins, are not in doubt."""


def report(
    stories: Sequence[Story],
    apart: Iterable[Iterable[str]] = (),
    unknown: Sequence[str] = (),
    shown: Collection[str] | None = None,
) -> dict:
    """JSON-able facts for dedup.json: each merged story with its items and links, least
    sure first and marked for a check below ``CHECK_BELOW``; totals; the takes kept apart
    (``apart``, groups of item ids, as given to ``dedup``), each with the story it is in;
    the links of the editor's corrections that named no item; and the near misses, surest
    first: two stories that may be one event, both among ``shown`` (ids; default: all)."""
    merged = [s for s in stories if len(s.items) > 1]
    where = {item.id: (item, story.id) for story in stories for item in story.items}
    near = sorted(
        (
            link
            for story in stories
            for link in story.near
            if shown is None or (where[link.a][1] in shown and where[link.b][1] in shown)
        ),
        key=lambda link: -link.similarity,
    )
    kept = [
        [{"id": i, "title": where[i][0].title, "url": where[i][0].url, "story": where[i][1]} for i in group]
        for group in ([i for i in group if i in where] for group in apart)
        if group
    ]
    layers: dict[str, int] = {}
    for story in merged:
        for link in story.links:
            layers[link.layer] = layers.get(link.layer, 0) + 1
    return {
        "totals": {
            "items": sum(len(s.items) for s in stories),
            "stories": len(stories),
            "merged_stories": len(merged),
            "links": layers,
        },
        "check_below": CHECK_BELOW,  # a story whose weakest same-event join is below is marked "check"
        "stories": sorted((_story_facts(s) for s in merged), key=_sureness),  # least sure first
        "kept_apart": kept,
        "unknown_links": list(unknown),
        "near_miss_from": NEAR_MISS,  # the least pair score of a near miss
        "near_misses": [_near_facts(link, where) for link in _best_of_each_pair(near, where)],
    }


def _best_of_each_pair(near: list[Link], where: dict[str, tuple[Item, str]]) -> list[Link]:
    """The first of ``near`` for each two stories: two stories the editor's "Same story"
    made one may each have had a near miss to a third."""
    best: dict[frozenset[str], Link] = {}
    for link in near:
        best.setdefault(frozenset((where[link.a][1], where[link.b][1])), link)
    return list(best.values())


def _near_facts(link: Link, where: dict[str, tuple[Item, str]]) -> dict:
    def take(item_id: str) -> dict:
        item, story = where[item_id]
        return {"id": item.id, "title": item.title, "source": item.source, "url": item.url, "story": story}

    return {"a": take(link.a), "b": take(link.b), "similarity": link.similarity, "shared": list(link.shared)}


def _sureness(facts: dict) -> float:
    """Sort key of a story's facts: least sure first, then the stories no join is in doubt in."""
    return facts["weakest"] if facts["weakest"] is not None else 2.0


def _story_facts(story: Story) -> dict:
    titles = {i.id: i.title for i in story.items}
    event = [link.similarity for link in story.links if link.layer == "same-event"]
    weakest = min(event) if event else None
    return {
        "id": story.id,
        "weakest": weakest,  # the lowest same-event join score (None: no such join)
        "check": (weakest is not None and weakest < CHECK_BELOW) or any(link.doubt for link in story.links),
        "items": [{"id": i.id, "title": i.title, "source": i.source, "url": i.url} for i in story.items],
        "links": [
            {
                "a": link.a,
                "b": link.b,
                "a_title": titles.get(link.a, ""),
                "b_title": titles.get(link.b, ""),
                "layer": link.layer,
                "similarity": link.similarity,
                "shared": list(link.shared),
                "doubt": link.doubt,
            }
            for link in story.links
        ],
    }


def _parse_time(value: object) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def item_from_json(row: object, line_number: int) -> Item:
    """An ``Item`` from one ``digest dedup`` input object (only id and title required).

    A malformed object raises ValueError naming its line. The item's id is the input id
    as text: an integer id 7 becomes "7" (``cluster_jsonl`` echoes the integer back)."""
    if not isinstance(row, dict):
        raise ValueError(f'line {line_number}: expected an object with "id" and "title", not {_shown(row)}')
    for key in ("id", "title"):
        if key not in row:
            raise ValueError(f'line {line_number}: "{key}" is missing')
    if not _is_id(row["id"]):
        raise ValueError(f'line {line_number}: "id" must be a string or an integer, not {_shown(row["id"])}')
    # an empty title is no more a title than a missing one (the pipeline drops untitled items)
    title = row["title"]
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f'line {line_number}: "title" must be a non-empty string, not {_shown(title)}')
    # what a publishing platform adds to every post goes, as the build's normalize drops
    # it: arXiv's "arXiv:2603.01234v1 Announce Type: new Abstract:" joined unrelated papers
    text = lambda key: without_boilerplate(row[key]) if isinstance(row.get(key), str) else ""  # noqa: E731
    return Item(
        id=str(row["id"]),
        title=title,
        url=text("url"),
        source=text("source"),
        published=_parse_time(row.get("published")),
        summary=text("summary"),
        text=text("text"),
    )


def _is_id(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _shown(value: object, limit: int = 60) -> str:
    """A JSON value as an error message shows it: arrays and objects by kind, the rest as written."""
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    written = json.dumps(value, ensure_ascii=False)
    return written if len(written) <= limit else written[: limit - 1] + "…"


def _decoded(line: str | bytes, number: int) -> str:
    """One input line as text; bytes are decoded here so that a bad byte is known by its line."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = f"byte 0x{line[exc.start]:02x} at offset {exc.start}"
            raise ValueError(f"line {number}: not UTF-8 ({bad})") from None
    return line.removeprefix("\ufeff") if number == 1 else line  # a byte order mark, as some editors write


def _parsed(line: str, number: int) -> object:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {number}: not JSON ({exc.msg})") from None
    except ValueError:  # json reads no integer of more than 4300 digits
        raise ValueError(f"line {number}: a number with too many digits") from None
    except RecursionError:
        raise ValueError(f"line {number}: arrays or objects nested too deeply") from None


def cluster_jsonl(lines: Iterable[str | bytes], settings: DedupSettings = DedupSettings()) -> Iterator[str]:
    """The ``digest dedup`` contract: JSON lines of items in, ``{"id", "story"}`` lines out,
    one per item in input order, each id exactly as it came in. Lines may be text or UTF-8
    bytes (a byte order mark first is skipped). A malformed line, or an id used twice (1 and
    "1" count as one), raises ValueError naming the lines, before any output."""
    items, ids, first_line = [], [], {}
    for number, raw in enumerate(lines, start=1):
        line = _decoded(raw, number)
        if not line.strip():
            continue
        row = _parsed(line, number)
        item = item_from_json(row, number)
        if item.id in first_line:  # stories are keyed by id: two items of one id would mix theirs
            earlier, given = first_line[item.id]
            how = "" if type(given) is type(row["id"]) else f" (as {_shown(given)})"
            raise ValueError(f"line {number}: id {_shown(row['id'])} is already used on line {earlier}{how}")
        first_line[item.id] = (number, row["id"])
        items.append(item)
        ids.append(row["id"])
    story_of = {item.id: story.id for story in dedup(items, settings) for item in story.items}
    for item, given in zip(items, ids):
        yield json.dumps({"id": given, "story": story_of[item.id]}, ensure_ascii=False)
