"""The public surface of dedup: settings, items to stories, the report, the JSONL contract."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ..models import Item, Link, Story
from .engine import Params, cluster, collector_paused


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
    """Representative first: source weight, then completeness, then earliest, then input order."""
    completeness = (bool(item.summary), bool(item.image), len(item.text or item.summary or ""))
    when = item.published.timestamp() if item.published else float("inf")
    return (-item.weight, *(-int(c) for c in completeness), when, position)


def story_id(items: Sequence[Item]) -> str:
    """A stable id for a story: derived from its representative's id."""
    return "s-" + hashlib.sha1(items[0].id.encode("utf-8")).hexdigest()[:12]


def _stories(items: Sequence[Item], labels: list[int], links: list[Link]) -> list[Story]:
    members: dict[int, list[int]] = {}
    for position, label in enumerate(labels):
        members.setdefault(label, []).append(position)
    label_of = {items[p].id: label for p, label in enumerate(labels)}
    by_label: dict[int, list[Link]] = {}
    for link in links:
        by_label.setdefault(label_of[link.a], []).append(link)
    stories = []
    for label, positions in members.items():  # dicts keep first-seen order: input order
        if len(positions) > 1:
            positions.sort(key=lambda p: _display_key(items[p], p))
        ordered = [items[p] for p in positions]
        stories.append(Story(story_id(ordered), ordered, by_label.get(label, [])))
    return stories


def dedup(items: Sequence[Item], settings: DedupSettings = DedupSettings()) -> list[Story]:
    """Group ``items`` into stories: every item in exactly one, stories in input order of
    their first item, each story's items in display order, with the links that joined them."""
    with collector_paused():
        labels, links = cluster(items, settings.params())
        return _stories(items, labels, links)


def already_published(
    stories: Sequence[Story], previous: Sequence[Item], settings: DedupSettings
) -> set[str]:
    """Ids of ``stories`` telling the same event as an item of an earlier issue."""
    if not stories or not previous:
        return set()
    current = [item for story in stories for item in story.items]
    story_of = {item.id: story.id for story in stories for item in story.items}
    # an outlet's earlier take may well be on today's event: no one-outlet constraint here
    old = [replace(item, id=f"\0previous:{n}", source="") for n, item in enumerate(previous)]
    window = max(settings.window_days, float(settings.memory_days))
    labels, _ = cluster([*current, *old], settings.params(window))
    with_previous = set(labels[len(current) :])
    return {story_of[item.id] for item, label in zip(current, labels) if label in with_previous}


def report(stories: Sequence[Story]) -> dict:
    """JSON-able facts for dedup.json: each merged story, its items and links, and totals."""
    merged = [s for s in stories if len(s.items) > 1]
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
        "stories": [_story_facts(s) for s in merged],
    }


def _story_facts(story: Story) -> dict:
    titles = {i.id: i.title for i in story.items}
    return {
        "id": story.id,
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


def item_from_json(row: dict, line_number: int) -> Item:
    """An ``Item`` from one ``digest dedup`` input object (only id and title required)."""
    if not isinstance(row, dict) or not isinstance(row.get("id"), (str, int)) or "title" not in row:
        raise ValueError(f'line {line_number}: expected an object with "id" and "title"')
    text = lambda key: row.get(key) if isinstance(row.get(key), str) else ""  # noqa: E731
    return Item(
        id=str(row["id"]),
        title=str(row["title"] or ""),
        url=text("url"),
        source=text("source"),
        published=_parse_time(row.get("published")),
        summary=text("summary"),
        text=text("text"),
    )


def cluster_jsonl(lines: Iterable[str], settings: DedupSettings = DedupSettings()) -> Iterator[str]:
    """The ``digest dedup`` contract: JSON lines of items in, ``{"id", "story"}`` lines out,
    one per item in input order. A malformed line raises ValueError naming its number."""
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {number}: not JSON ({exc.msg})") from None
        items.append(item_from_json(row, number))
    story_of = {item.id: story.id for story in dedup(items, settings) for item in story.items}
    for item in items:
        yield json.dumps({"id": item.id, "story": story_of[item.id]}, ensure_ascii=False)
