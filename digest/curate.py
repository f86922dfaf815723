"""Pick and order what matters: stories into sections, ranked, capped, a lead first.

Stories come from ``dedup`` already merged; stories an earlier issue published are
left out by the caller. The lead story is the best-covered, best-weighted story of the
first section: it gets a section of its own (style ``lead``) with takeaways.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date as Date
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from .config import Config, SectionConfig
from .models import Issue, Item, Section, Stats, Story
from .takeaways import is_boilerplate, split_sentences, takeaways

# Topic keyword -> emoji; the first rule whose keyword appears in the headline wins.
# ``curate.emoji`` in sources.yaml adds rules in front of these.
DEFAULT_EMOJI = {
    "lawsuit": "⚖️",
    "court": "⚖️",
    "sue": "⚖️",
    "regulat": "⚖️",
    "law": "⚖️",
    "security": "🛡️",
    "defense": "🛡️",
    "defence": "🛡️",
    "safety": "🛡️",
    "billion": "💰",
    "million": "💰",
    "funding": "💰",
    "invest": "💰",
    "raise": "💰",
    "bets": "💰",
    "deal": "🤝",
    "partner": "🤝",
    "tie-up": "🤝",
    "acquir": "🤝",
    "chip": "🔌",
    "gpu": "🔌",
    "nvidia": "🔌",
    "photonic": "🔬",
    "research": "🔬",
    "study": "🔬",
    "scien": "🔬",
    "health": "🩺",
    "radiolog": "🩻",
    "medic": "🩺",
    "school": "🎓",
    "student": "🎓",
    "skills": "🎓",
    "education": "🎓",
    "job": "💼",
    "work": "💼",
    "business": "🏢",
    "launch": "🚀",
    "release": "🚀",
    "model": "🧠",
    "robot": "🤖",
    "video": "🎬",
    "image": "🎨",
    "music": "🎵",
    "policy": "🏛️",
    "government": "🏛️",
    "board": "🏛️",
    "search": "🔎",
    "agent": "🤖",
}
FALLBACK_EMOJI = "📰"


def curate(stories: Sequence[Story], config: Config, issue_date: Date, number: int, stats: Stats) -> Issue:
    """Assemble the issue of ``issue_date`` from ``stories``."""
    fresh = [s for s in stories if _in_window(s, config, issue_date)]
    ranked = sorted(fresh, key=_score(issue_date, config), reverse=True)
    by_section = _by_section(ranked, config)
    lead_story = _pick_lead(by_section, config)
    sections = _sections(by_section, lead_story, config)
    for story in (s for section in sections for s in section.stories):
        story.emoji = story.emoji or emoji_for(story.lead.title, config.curate.emoji)
    if lead_story:
        lead_story.takeaways = takeaways(lead_story, config.curate.takeaways)
        lead_story.body = lead_paragraphs(lead_story.lead, config.curate.lead_paragraphs)
    stats.stories = sum(len(s.stories) for s in sections)
    title = lead_story.lead.title if lead_story else f"{config.newsletter.name} #{number}"
    subtitle = lead_story.lead.summary if lead_story else config.newsletter.tagline
    return Issue(
        newsletter=config.newsletter.name,
        number=number,
        date=issue_date.isoformat(),
        slug=issue_date.isoformat(),
        title=title,
        subtitle=_first_sentence(subtitle),
        sections=sections,
        stats=stats,
        lead=lead_story,
    )


def _window_end(config: Config, issue_date: Date) -> datetime:
    """The end of the issue's day in the newsletter's time zone."""
    zone = ZoneInfo(config.newsletter.timezone)
    return datetime.combine(issue_date + timedelta(days=1), time(), tzinfo=zone)


def _in_window(story: Story, config: Config, issue_date: Date) -> bool:
    end = _window_end(config, issue_date)
    section = next((s for s in config.sections if s.id == story.lead.section), None)
    days = (section.lookback_days if section else None) or config.curate.lookback_days
    start = end - timedelta(days=days)
    when = story.published
    return when is None or start <= when < end


def _score(issue_date: Date, config: Config):
    end = _window_end(config, issue_date)

    def score(story: Story) -> float:
        outlets = len({i.source for i in story.items})
        age_hours = (end - story.published).total_seconds() / 3600 if story.published else 24
        return story.lead.weight + math.log2(1 + outlets) - age_hours / 48

    return score


def _by_section(ranked: Sequence[Story], config: Config) -> dict[str, list[Story]]:
    known = {s.id for s in config.sections}
    grouped: dict[str, list[Story]] = {s.id: [] for s in config.sections}
    for story in ranked:
        section = story.lead.section if story.lead.section in known else config.default_section
        grouped[section].append(story)
    return grouped


def _pick_lead(by_section: dict[str, list[Story]], config: Config) -> Story | None:
    """The top story of the first list section: it gets the lead block."""
    for section in config.sections:
        if section.style == "list" and by_section[section.id]:
            return by_section[section.id].pop(0)
    return None


def _sections(by_section: dict[str, list[Story]], lead: Story | None, config: Config) -> list[Section]:
    sections = [_section(s, by_section[s.id]) for s in config.sections if s.style != "lead"]
    if lead is None:
        return [s for s in sections if s.stories]
    lead_config = next((s for s in config.sections if s.style == "lead"), None)
    lead_section = Section(
        id=lead_config.id if lead_config else "lead",
        title=lead.lead.title,
        style="lead",
        stories=[lead],
    )
    # Without a configured place, the lead follows the first section, as in the sample.
    at = [s.id for s in config.sections].index(lead_config.id) if lead_config else 1
    sections.insert(min(at, len(sections)), lead_section)
    return [s for s in sections if s.stories]


def _section(config: SectionConfig, stories: list[Story]) -> Section:
    return Section(config.id, config.title, config.style, stories[: config.max_stories])


def emoji_for(headline: str, rules: dict[str, str]) -> str:
    """The emoji of the first keyword rule matching ``headline`` (config rules first)."""
    lowered = headline.lower()
    for keyword, emoji in [*rules.items(), *DEFAULT_EMOJI.items()]:
        if re.search(rf"\b{re.escape(keyword.lower())}", lowered):
            return emoji
    return FALLBACK_EMOJI


def lead_paragraphs(item: Item, most: int = 3, words: int = 220) -> list[str]:
    """The lead story's summary: its take's first real paragraphs (no headings, captions
    or calls to action), at most ``most`` of them and about ``words`` words in all."""
    paragraphs: dict[int, list[str]] = {}
    budget = words
    for index, sentence in split_sentences(item.text):
        if budget <= 0 or (len(paragraphs) == most and index not in paragraphs):
            break
        if not sentence.endswith((".", "!", '"', "”", "’", ")")) or is_boilerplate(sentence):
            continue
        paragraphs.setdefault(index, []).append(sentence)
        budget -= len(sentence.split())
    body = [" ".join(sentences) for sentences in paragraphs.values()]
    body = [p for p in body if len(p.split()) >= 12 or len(body) == 1]
    return body or ([item.summary] if item.summary else [])


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(\s|$)", text or "")
    return match.group(1) if match else (text or "")
