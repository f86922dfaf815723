"""Takeaways at a glance: the facts several takes of a story agree on, offline.

Each sentence of every take is scored by how many *other* outlets' takes share its
content words (agreement) and by its position (leads carry the facts). The best
distinct sentences become 3–5 bullets, each linked to the take it came from.
"""

from __future__ import annotations

import re

from .models import Story, Takeaway

STOPWORDS = frozenset(
    "a an and are as at be been but by can could did do does for from had has have he her his "
    "how i if in into is it its just may might more most much must new no not now of on one or "
    "our out over said says she so some such than that the their them then there these they "
    "this those to too up us very was we were what when where which while who why will with "
    "would you your also about after again all am any because before being both during each "
    "few here just like make made only other own same should through under until what's it's".split()
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“‘$])")
_WORD = re.compile(r"[\w$%]+(?:[.,'’][\w]+)*")
MIN_WORDS, MAX_WORDS = 7, 40


def takeaways(story: Story, most: int = 5) -> list[Takeaway]:
    """Up to ``most`` distinct bullets for ``story`` (fewer if its takes say less)."""
    candidates = _candidates(story)
    vocab_by_take = [_content_words(f"{i.title} {i.summary} {i.text}") for i in story.items]
    scored = []
    for take, position, sentence, words in candidates:
        agreement = sum(
            len(words & other) / len(words)
            for index, other in enumerate(vocab_by_take)
            if index != take
        )
        scored.append((agreement + 1.0 / (1 + position) + (0.2 if take == 0 else 0), take, sentence, words))
    scored.sort(key=lambda row: row[0], reverse=True)
    chosen: list[tuple[int, str, set[str]]] = []
    for _, take, sentence, words in scored:
        if all(_jaccard(words, seen) < 0.35 for _, _, seen in chosen):
            chosen.append((take, sentence, words))
        if len(chosen) == most:
            break
    items = story.items
    bullets = [Takeaway(sentence, items[take].url, items[take].source) for take, sentence, _ in chosen]
    return bullets


def _candidates(story: Story) -> list[tuple[int, int, str, set[str]]]:
    """(take index, position, sentence, content words) for every usable sentence."""
    rows = []
    for take, item in enumerate(story.items):
        body = item.text or item.summary
        for position, sentence in enumerate(_SENTENCE.split(body.replace("\n\n", " "))[:40]):
            sentence = sentence.strip()
            words = _content_words(sentence)
            if MIN_WORDS <= len(sentence.split()) <= MAX_WORDS and len(words) >= 4 and not sentence.endswith("?"):
                rows.append((take, position, sentence, words))
    return rows


def _content_words(text: str) -> set[str]:
    return {w for w in (m.lower() for m in _WORD.findall(text)) if w not in STOPWORDS and len(w) > 2}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0
