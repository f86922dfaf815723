"""Curation: sections, the lead story with its body and takeaways, emoji by topic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from test_takeaways import meta_story

from digest.config import Config
from digest.curate import FALLBACK_EMOJI, curate, emoji_for, lead_paragraphs
from digest.models import Item, Stats, Story

DAY = date(2025, 6, 14)
NOON = datetime(2025, 6, 14, 12, tzinfo=UTC)


def config(**extra: object) -> Config:
    return Config(
        newsletter={"name": "Future Blueprint"},
        sources=[{"name": "x", "url": "https://x.example/feed"}],
        sections=[
            {"id": "top-news", "title": "Top AI news"},
            {"id": "tools", "title": "Tools", "style": "cards", "max_stories": 2},
        ],
        **extra,
    )


def single(n: int, title: str, section: str = "top-news", hours: int = 1) -> Story:
    item = Item(f"i{n}", title, f"https://e.example/{n}", "E", NOON - timedelta(hours=hours), section=section)
    return Story(f"s{n}", [item])


def test_emoji_by_topic_with_config_rules_first() -> None:
    assert emoji_for("RSM Bets $1B on AI Agents", {}) == "💰"
    assert emoji_for("UK Pushes AI Skills for Students", {}) == "🎓"
    assert emoji_for("AI Helps Radiologists Work Faster", {}) == "🩻"
    assert emoji_for("Something else entirely", {}) == FALLBACK_EMOJI
    assert emoji_for("UK Pushes AI Skills for Students", {"uk": "🇬🇧"}) == "🇬🇧"


def test_lead_paragraphs_skip_headings_and_calls_to_action() -> None:
    item = meta_story().items[1]  # has a "What Is Scale AI?" heading and "Imagine ..." filler
    body = lead_paragraphs(item, most=3)
    assert 1 <= len(body) <= 3
    assert all("What Is Scale AI?" not in p and "Imagine" not in p for p in body)
    assert sum(len(p.split()) for p in body) <= 260
    assert lead_paragraphs(Item("e", "T", "https://e.example", "E", summary="Only a summary.")) == [
        "Only a summary."
    ]


def test_curate_builds_lead_with_body_takeaways_and_emoji() -> None:
    lead = meta_story()
    when, summary = NOON - timedelta(hours=2), "Meta bets on Scale AI. More."
    lead.items = [
        Item(i.id, i.title, i.url, i.source, when, summary=summary, text=i.text, section="top-news")
        for i in lead.items
    ]
    stories = [
        lead,
        single(1, "RSM Bets $1B on AI Agents"),
        single(2, "Cursor", "tools"),
        single(3, "Old", hours=80),
    ]
    issue = curate(stories, config(curate={"emoji": {"cursor": "🖱️"}}), DAY, 7, Stats())
    assert [s.style for s in issue.sections] == ["list", "lead", "cards"]
    assert (
        issue.lead is lead and issue.title == lead.lead.title and issue.subtitle == "Meta bets on Scale AI."
    )
    assert 3 <= len(lead.takeaways) <= 5 and lead.body
    assert issue.sections[0].stories[0].emoji == "💰"
    assert issue.sections[2].stories[0].emoji == "🖱️"
    assert "Old" not in [s.lead.title for s in issue.stories]
    assert issue.stats.stories == 3
