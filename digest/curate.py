"""Pick and order what matters: stories into sections, ranked, capped, a lead first.

Stories come from ``dedup`` already merged; stories an earlier issue published are
left out by the caller. The lead story is the best-covered, best-weighted story of the
sources routed to a ``lead``-style section, else of the first list section, unless the
editor names one: it gets a section of its own (style ``lead``) with takeaways. Every
story left out here is counted in the issue's stats, by reason.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from datetime import date as Date
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from . import sentences
from .config import Config, SectionConfig
from .models import Issue, Item, Section, Stats, Story
from .takeaways import is_boilerplate, split_sentences, takeaways

# Topic keyword -> emoji; the first rule whose keyword appears in the headline wins.
# ``curate.emoji`` in sources.yaml adds rules in front of these.
DEFAULT_EMOJI = {
    "lawsuit": "⚖️",
    "court": "⚖️",
    # whole words: as the start of a word they are "Lawrence", "lawn", "Suez", and in
    # other languages' headlines "Lawinengefahr", "sueño", "Suecia", "suelo"
    "sue": "⚖️",
    "sues": "⚖️",
    "sued": "⚖️",
    "suing": "⚖️",
    # a case sent to a jury, not a trial of tutors or of a drug ("UK to trial AI tutors")
    "headed to trial": "⚖️",
    "goes to trial": "⚖️",
    "stand trial": "⚖️",
    "regulat": "⚖️",
    "law": "⚖️",
    "laws": "⚖️",
    "lawmaker": "⚖️",
    "lawyer": "⚖️",
    # a penalty or a probe is news about the law, not money raised ("fines X $220 million",
    # "investigation"): before the money rules, which "million" and "invest" would match
    "fine": "⚖️",
    "fined": "⚖️",
    "fines": "⚖️",
    "penalt": "⚖️",
    "investigation": "⚖️",
    "antitrust": "⚖️",
    "judge": "⚖️",
    "ruling": "⚖️",
    "rules": "⚖️",
    "copyright": "⚖️",
    "ftc": "⚖️",
    "ai act": "⚖️",
    "permit": "⚖️",
    "cma": "⚖️",
    # a probe, the noun: "to probe dark matter" is research
    "probe into": "⚖️",
    "probe of": "⚖️",
    "competition probe": "⚖️",
    "opens probe": "⚖️",
    "digital markets act": "⚖️",
    "security": "🛡️",
    "defense": "🛡️",
    "defence": "🛡️",
    "safety": "🛡️",
    "injection": "🛡️",
    "vulnerab": "🛡️",
    "hack": "🛡️",
    "hacked": "🛡️",
    "hackers": "🛡️",
    "threat": "🛡️",
    "cyber": "🛡️",
    "misalign": "🛡️",
    "extortion": "🛡️",
    "jailbr": "🛡️",
    "outage": "🚨",
    "is down": "🚨",
    "error rate": "🚨",
    "billion": "💰",
    "million": "💰",
    "funding": "💰",
    "invest": "💰",
    "raise": "💰",
    "bets": "💰",
    "valuation": "💰",
    "valued": "💰",
    "round": "💰",
    "stake": "💰",
    "stakes": "💰",
    "ipo": "💰",
    # a sum of money in any of these currencies ("bags $700M", "€90m"): the sign opens
    # no word, so it matches anywhere
    "$": "💰",
    "€": "💰",
    "£": "💰",
    "deal": "🤝",
    "partner": "🤝",
    "tie-up": "🤝",
    "acquir": "🤝",
    "acquisition": "🤝",
    "agreement": "🤝",
    # a purchase: not "Buy for Me", a shopping feature's name, nor "time to buy the stock"
    "agrees to buy": "🤝",
    "agreed to buy": "🤝",
    "deal to buy": "🤝",
    "buys": "🤝",
    "bought": "🤝",
    "takeover": "🤝",
    "merger": "🤝",
    # results, once no sum has made them money news ("TSMC Revenue Climbs 41%"); not a
    # "for-profit" restructuring
    "revenue": "📈",
    "earnings": "📈",
    "profits": "📈",
    "quarterly": "📈",
    "chip": "🔌",
    "gpu": "🔌",
    "nvidia": "🔌",
    "data center": "🏗️",
    "datacenter": "🏗️",
    "stargate": "🏗️",
    "energy": "⚡",
    "geothermal": "⚡",
    "nuclear": "⚡",
    "turbine": "⚡",
    # people: a hire or a departure, before the research and the work its title names
    # ("OpenAI's Applied Research Chief Is Leaving")
    "leaving": "💼",
    "departs": "💼",
    "departure": "💼",
    "resigns": "💼",
    "steps down": "💼",
    "stepping down": "💼",
    "layoff": "💼",
    "laying off": "💼",
    "lays off": "💼",
    "hires": "💼",
    "poaches": "💼",
    "appoints": "💼",
    "leader": "💼",
    "exit": "💼",
    "exits": "💼",
    "photonic": "🔬",
    "research": "🔬",
    "study": "🔬",
    "scien": "🔬",
    "math": "🧮",
    "theorem": "🧮",
    "conjecture": "🧮",
    "protein": "🧬",
    "alphafold": "🧬",
    "genetic": "🧬",
    "genom": "🧬",
    "biolog": "🧬",
    "health": "🩺",
    "radiolog": "🩻",
    "medic": "🩺",
    "surgical": "🩺",
    "surgery": "🩺",
    "surgeon": "🩺",
    "school": "🎓",
    "tutor": "🎓",
    "student": "🎓",
    "skills": "🎓",
    "education": "🎓",
    "job": "💼",
    "work": "💼",
    "business": "🏢",
    "launch": "🚀",
    "release": "🚀",
    "introducing": "🚀",
    "is here": "🚀",
    "now available": "🚀",
    "generally available": "🚀",
    "debut": "🚀",
    "unveil": "🚀",
    "rolls out": "🚀",
    "roll out": "🚀",
    "is coming": "🚀",
    "arrives": "🚀",
    "adds": "🚀",
    "open-weight": "🔓",
    "open source": "🔓",
    "open-source": "🔓",
    "model": "🧠",
    "pretrain": "🧠",
    "speculative decoding": "🧠",
    "optimizer": "🧠",
    "reasoning": "🧠",
    "llm": "🧠",
    "inference": "🧠",
    "quantiz": "🧠",
    "transformer": "🧠",
    "token": "🧠",
    "benchmark": "🧠",
    "teen": "👪",
    "kids": "👪",
    "children": "👪",
    "parents": "👪",
    "minors": "👪",
    "chatbot": "💬",
    "chatgpt": "💬",
    "claude": "💬",
    "gemini": "💬",
    "copilot": "💬",
    "grok": "💬",
    "alexa": "💬",
    "siri": "💬",
    "robotaxi": "🚗",
    "driverless": "🚗",
    "self-driving": "🚗",
    "waymo": "🚗",
    "robot": "🤖",
    "video": "🎬",
    "photo": "📷",
    "photos": "📷",
    "glasses": "👓",
    "headset": "👓",
    "shopping": "🛒",
    "shop": "🛒",
    "image": "🎨",
    "music": "🎵",
    "policy": "🏛️",
    "government": "🏛️",
    "board": "🏛️",
    "search": "🔎",
    "agent": "🤖",
    "browser": "🌐",
    "office": "🌍",
    "offices": "🌍",
    "survey": "📊",
    "poll": "📊",
    "polls": "📊",
    "review": "🧪",
    "hands-on": "🧪",
    "tested": "🧪",
    "tv": "📺",
    "dj": "🎵",
}
FALLBACK_EMOJI = "📰"
# What a feed posts besides news: a job opening, an event or webinar to sign up for, a
# sponsor's post, a patch or pre-release with nothing but its version for a headline
# ("vLLM v0.9.1"). Such a notice ranks after every news story of its section: it leads
# no issue that has news, and is the first that a section's ``max_stories`` leaves out.
_NOTICE_TITLE = re.compile(
    r"(?i)\b(?:we['’]re hiring|we are hiring|now hiring|job opening|save the date)\b"
    r"|^\[?(?:hiring|jobs?|careers?|(?:(?:live|free|on-demand|upcoming) )?webinar|livestream|virtual event"
    r"|event|sponsored|promoted|partner content|paid post|advertorial)\s*(?:[\]:|–—]|-\s)"
    r"|\bjoin (?:us|our) (?:for (?:a|our) )?(?:webinar|livestream)\b"
    r"|[(\[|]\s*(?:sponsored|promoted|paid post|webinar)\s*[)\]]?$"
)
_NOTICE_SUMMARY = re.compile(r"(?i)\b(?:register|rsvp)\s+(?:now|today|here)\b|\bsave your (?:seat|spot)\b")
_MINOR_RELEASE = re.compile(
    r"(?i)^(?:\S+\s+){0,3}v?\d+\.\d+(?:\.[1-9]\d*(?:[-.+]?[\w.]+)?|(?:\.\d+)?[-.]?(?:rc|alpha|beta|dev|pre)\.?\d*)"
)
# Keywords of the rules above that match only as whole words: "fines", not "finest",
# and "fine", not "fine-tune" nor "fine tuning"; "law", not "Lawrence".
WHOLE_WORDS = frozenset(
    "fine fines sue sues sued suing law laws rules round stake stakes ipo hack hacked hackers exit exits "
    "office offices poll polls tv dj adds cma buys shop profits photo photos".split()
)
# Words a keyword of the rules above must not follow or be followed by: "scaling laws" are
# machine learning's, and "fine print" is no fine; "fine-tune" and "fine tuning" neither.
_NOT_AFTER = r"(?<!scaling )(?<!power )"
_NOT_BEFORE = r"(?!\s+tun)(?!\s+print)"


def curate(
    stories: Sequence[Story],
    config: Config,
    issue_date: Date,
    number: int,
    stats: Stats,
    lead: str | None = None,
) -> Issue:
    """Assemble the issue of ``issue_date`` from ``stories``; ``lead``: the id of the
    story the editor has lead it, which may be older than the lookback (not dated after
    the issue's day)."""
    chosen = next((s for s in stories if s.id == lead and not _after_the_day(s, config, issue_date)), None)
    fresh = [s for s in stories if s is chosen or _in_window(s, config, issue_date)]
    score = _score(issue_date, config)
    ranked = sorted(fresh, key=lambda s: (not is_notice(s.lead), score(s)), reverse=True)
    by_section = _by_section(ranked, config)
    lead_story = _pick_lead(by_section, config, chosen)
    _pass_on_from_lead_sections(by_section, ranked, config)
    sections = _sections(by_section, lead_story, config)
    _count(stats, stories, fresh, sections, config, issue_date)
    for story in (s for section in sections for s in section.stories):
        story.emoji = story.emoji or emoji_for(story.lead.title, config.curate.emoji)
    if lead_story:
        lead_story.body = lead_paragraphs(lead_story.lead, config.curate.lead_paragraphs)
        lead_story.takeaways = takeaways(lead_story, config.curate.takeaways, shown=lead_story.body)
    title = lead_story.lead.title if lead_story else f"{config.newsletter.name} #{number}"
    subtitle = sentences.first(lead_story.lead.summary if lead_story else config.newsletter.tagline)
    deck = True
    if lead_story and lead_story.body:
        lead_story.body, deck = _after_the_deck(lead_story.body, subtitle)
    return Issue(
        newsletter=config.newsletter.name,
        number=number,
        date=issue_date.isoformat(),
        slug=issue_date.isoformat(),
        title=title,
        subtitle=subtitle,
        sections=sections,
        stats=stats,
        lead=lead_story,
        over_cap=_over_cap(ranked, sections),
        show_subtitle=deck,
    )


def _after_the_deck(body: list[str], subtitle: str) -> tuple[list[str], bool]:
    """The lead's body without the sentence the issue's header already shows under the
    title (its subtitle), and whether the header shows it: when that sentence is all the
    body says, the body keeps it and the header does without. A reader saw the same
    sentence twice within two screens."""
    said = " ".join(subtitle.split())
    opening = " ".join(body[0].split())
    if not said or not opening.startswith(said):
        return body, True
    rest = [p for p in [opening[len(said) :].strip(), *body[1:]] if p]
    return (rest, True) if rest else (body, False)


def _over_cap(ranked: Sequence[Story], sections: Sequence[Section]) -> list[Story]:
    """The stories of the day's window that no section had room for, best ranked first."""
    shown = {id(story) for section in sections for story in section.stories}
    return [story for story in ranked if id(story) not in shown]


def _count(
    stats: Stats,
    stories: Sequence[Story],
    fresh: Sequence[Story],
    sections: Sequence[Section],
    config: Config,
    issue_date: Date,
) -> None:
    """The stories in the issue, and those left out here by reason, into ``stats``:
    a story cut for any reason is counted, so none vanishes unnoticed."""
    later = sum(_after_the_day(s, config, issue_date) for s in stories)
    shown = sum(len(s.stories) for s in sections)
    stats.stories = shown
    stats.stories_too_new = later
    stats.stories_too_old = len(stories) - len(fresh) - later
    stats.stories_over_cap = len(fresh) - shown


def _window_end(config: Config, issue_date: Date) -> datetime:
    """The end of the issue's day in the newsletter's time zone."""
    zone = ZoneInfo(config.newsletter.timezone)
    return datetime.combine(issue_date + timedelta(days=1), time(), tzinfo=zone)


def _in_window(story: Story, config: Config, issue_date: Date) -> bool:
    """Whether the story was covered within its section's lookback: its newest take
    counts, so an event still reported today stays in, however early the first take."""
    if not any(i.published for i in story.items):
        return True  # no take says when: nothing says it is old
    end = _window_end(config, issue_date)
    section = next((s for s in config.sections if s.id == story.lead.section), None)
    days = (section.lookback_days if section else None) or config.curate.lookback_days
    newest = story.newest(end)
    return newest is not None and newest >= end - timedelta(days=days)


def _after_the_day(story: Story, config: Config, issue_date: Date) -> bool:
    """Whether every dated take of the story is from after the issue's day (an issue
    built for an earlier date): out of its window, but not for being old."""
    dated = any(i.published for i in story.items)
    return dated and story.newest(_window_end(config, issue_date)) is None


def _score(issue_date: Date, config: Config):
    """Rank by how widely the story was covered, each outlet counted by its weight (a
    wire of weight 2 counts as two blogs), and by how recently (its newest take, as for
    the window: fresh coverage makes a story current).

    Only the front take's weight counted before, beside the number of outlets: two
    wires' takes (2 + log2 3 = 3.6) outranked a launch five blogs covered six hours
    earlier (1 + log2 6 - 1/8 = 3.5), and a day's biggest stories were cut by a
    section's cap."""
    end = _window_end(config, issue_date)

    def score(story: Story) -> float:
        newest = story.newest(end)
        age_hours = (end - newest).total_seconds() / 3600 if newest else 24
        return 2 * math.log2(1 + sum(story.outlets.values())) - age_hours / 48

    return score


def is_notice(item: Item) -> bool:
    """Whether ``item`` is a notice rather than news (see ``_NOTICE_TITLE``): a job post,
    an event or webinar, a sponsor's post, or a minor release known only by its version."""
    return bool(
        _NOTICE_TITLE.search(item.title)
        or _NOTICE_SUMMARY.search(item.summary)
        or _MINOR_RELEASE.fullmatch(item.title)
    )


def _by_section(ranked: Sequence[Story], config: Config) -> dict[str, list[Story]]:
    known = {s.id for s in config.sections}
    grouped: dict[str, list[Story]] = {s.id: [] for s in config.sections}
    for story in ranked:
        section = story.lead.section if story.lead.section in known else config.default_section
        grouped[section].append(story)
    return grouped


def _pick_lead(by_section: dict[str, list[Story]], config: Config, chosen: Story | None) -> Story | None:
    """The story that gets the lead block: the editor's ``chosen`` one, else the top
    story of the sources routed to a ``lead`` section (the editor's "lead from here"),
    else of the first list section."""
    for stories in by_section.values() if chosen else []:
        for at, story in enumerate(stories):
            if story is chosen:
                return stories.pop(at)
    lead_sections = [s for s in config.sections if s.style == "lead"]
    list_sections = [s for s in config.sections if s.style == "list"]
    for section in [*lead_sections, *list_sections]:
        if by_section[section.id]:
            return by_section[section.id].pop(0)
    return None


def _pass_on_from_lead_sections(
    by_section: dict[str, list[Story]], ranked: list[Story], config: Config
) -> None:
    """Move the stories a ``lead`` section holds besides the lead into the first list
    section (else the first other section), in rank order: a lead section shows one
    story, and the source routed there should not lose its others."""
    lead_ids = [s.id for s in config.sections if s.style == "lead"]
    others = [s for s in config.sections if s.style != "lead"]
    if not others:
        return  # nowhere else to go: counted as over the cap
    target = next((s for s in others if s.style == "list"), others[0]).id
    moved = {story.id for section in lead_ids for story in by_section[section]}
    if not moved:
        return
    kept = {story.id for story in by_section[target]} | moved
    by_section[target] = [story for story in ranked if story.id in kept]
    for section in lead_ids:
        by_section[section] = []


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
    own = ((k, e, False) for k, e in rules.items())
    defaults = ((k, e, k in WHOLE_WORDS) for k, e in DEFAULT_EMOJI.items())
    for keyword, emoji, whole in (*own, *defaults):
        if _keyword(keyword, whole).search(lowered):
            return emoji
    return FALLBACK_EMOJI


@functools.cache
def _keyword(keyword: str, whole: bool) -> re.Pattern[str]:
    """The pattern of an emoji rule's keyword, compiled once (a headline tries 200 of them):
    at the start of a word, unless it opens on a sign ("$"); ``whole``: a whole word."""
    start, end = (_NOT_AFTER, rf"(?![\w-]){_NOT_BEFORE}") if whole else ("", "")
    boundary = r"\b" if keyword[:1].isalnum() else ""
    return re.compile(rf"{start}{boundary}{re.escape(keyword.lower())}{end}")


def lead_paragraphs(item: Item, most: int = 3, words: int = 220) -> list[str]:
    """The lead story's summary: its take's first real paragraphs (no headings, captions
    or calls to action), at most ``most`` of them and about ``words`` words in all."""
    body: list[str] = []
    budget = words
    for paragraph in _paragraphs(item.text):
        prose = _trimmed(paragraph)
        if not prose:
            continue
        if budget <= 0 or len(body) == most:
            break
        kept = []
        for sentence in prose:
            if budget <= 0:
                break
            kept.append(sentence)
            budget -= len(sentence.split())
        body.append(" ".join(kept))
    body = [p for p in body if len(p.split()) >= 12 or len(body) == 1]
    return body or ([item.summary] if item.summary else [])


def _paragraphs(text: str) -> list[list[str]]:
    """The sentences of ``text``, paragraph by paragraph."""
    paragraphs: dict[int, list[str]] = {}
    for index, sentence in split_sentences(text):
        paragraphs.setdefault(index, []).append(sentence)
    return list(paragraphs.values())


def _trimmed(sentences: list[str]) -> list[str]:
    """A paragraph without the headings, captions and calls to action at its ends.

    Only the ends: a sentence taken from the middle would splice its neighbours into
    prose the author never wrote ("… this year. Because Widget makes …"). A question
    opening a paragraph stays when the paragraph goes on: what follows answers it.
    """
    start, end = 0, len(sentences)
    while end > start and _not_prose(sentences[end - 1]):
        end -= 1
    while start < end and _not_prose(sentences[start]) and not sentences[start].endswith("?"):
        start += 1
    return sentences[start:end]


def _not_prose(sentence: str) -> bool:
    """A heading or caption (no closing stop), or an address to the reader."""
    return not sentence.endswith((".", "!", "?", '"', "”", "’", ")")) or is_boilerplate(sentence)
