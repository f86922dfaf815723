"""Takeaways at a glance: the facts several takes of a story agree on, offline.

Every sentence of every take is a candidate. A candidate scores by *agreement* (how
many other outlets' takes contain most of its key terms, numbers normalized so "$10B"
meets "10 billion"), by how *factual* it reads (amounts and names count; opinion, first
and second person, questions and calls to action do not) and by its position (leads
carry the facts). Candidates are shortened (attributions like "Bloomberg reports" and
filler openers dropped) and chosen greedily so that each bullet adds terms the others
do not have. No model, no network: the same takes always give the same bullets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from . import sentences
from .models import Item, Story, Takeaway

STOPWORDS = frozenset(
    "a an and are as at be been but by can could did do does for from had has have he her his "
    "how i if in into is it its just may might more most much must new no not now of on one or "
    "our out over said says she so some such than that the their them then there these they "
    "this those to too up us very was we were what when where which while who why will with "
    "would you your also about after again all am any because before being both during each "
    "few here just like make made only other own same should through under until what's it's "
    "according reports reported reportedly report told people company firm".split()
)
_PARAGRAPHS = re.compile(r"\n\s*\n|\n(?=\s*[-•*]\s)")
_WORD = re.compile(r"[$]?\w+(?:[.,'’]\w+)*%?")
_AMOUNT = re.compile(r"\$?\s?(\d+(?:[.,]\d+)?)\s*(billion|bn|b|million|mn|m|trillion|tn)\b", re.I)
_UNITS = {"b": "bn", "bn": "bn", "billion": "bn", "m": "m", "mn": "m", "million": "m"}
# Openers and attributions that add words, not facts.
_FILLER_START = re.compile(
    r"^(?:(?:today|now|meanwhile|still|however|indeed|also|so|and|but|plus|in fact|in a (?:\w+ )?move"
    r"|from an? \w+ (?:perspective|standpoint|point of view))"
    r",?\s+|(?:according to|as) [^,]{2,60}(?:reports?|says?|said|noted)?,\s+"
    r"|[^,]{2,40} (?:reports|says) that\s+)",
    re.I,
)
_FILLER_END = re.compile(
    r",\s+(?:according to [^,]{2,60}|[A-Z][\w.’' ]{1,40} (?:reports|reported|says|said))\.?$"
)
_OPINION = re.compile(
    r"\b(?:i|i'm|i’m|me|my|we|we're|we’re|our|you|you're|you’re|your|let's|let’s|imagine|"
    r"basically|honestly|arguably|wow|omg|subscribe|newsletter|sign up|click|read more|"
    r"learn more|can be (?:found|accessed))\b"
    # a sentence that points at the rest of its article: "Here is what the omnibus changes"
    r"|^(?:here(?:'s|’s| is| are)|this is|below(?:,| is| are)) "
    r"(?:what|how|why|where|when|who|everything|a look)\b",
    re.I,
)
# A figure precise enough to name one fact ("87.4", "60,000", "$3.1bn"), unlike "2" or a year.
_FIGURE = re.compile(r"\d+[.,]\d+(?:bn|m|tn)?|\d+(?:bn|m|tn)|(?!(?:19|20)\d\d$)\d{3,}")
# Appositives and trailing clauses a bullet can do without.
_TAIL_CLAUSE = re.compile(
    r",\s+(?:a|an|the|which|who|whose|including|one of|as well as|while|with|making|marking|"
    r"bringing|adding|putting|after|amid|following)\s"
)
_DANGLING_START = re.compile(r"^(?:this|that|these|those|it|they|he|she|there|here|such)\b", re.I)
# "may" only in lower case: "in May" is a date, not a guess
_HEDGE = re.compile(r"\b(?:(?-i:may)|might|could|would)\b(?! (?:have|be) (?:said|told|reported))", re.I)
# "backs up that strategy", "this move": a sentence pointing back at one it follows.
_BACK_REFERENCE = re.compile(
    r"\b(?:this|that|these|those|such|the same) (?:strategy|move|deal|plan|approach|effort|decision"
    r"|step|shift|push|bet|investment|partnership|announcement|news|report|idea|trend|vision)s?\b",
    re.I,
)
MIN_WORDS, MAX_WORDS, SHORT_WORDS = 7, 45, 28


@dataclass(frozen=True)
class Candidate:
    """One sentence of one take, shortened, with its key terms and score."""

    text: str
    take: int
    terms: frozenset[str]
    score: float
    position: float


def takeaways(story: Story, most: int = 5, shown: Sequence[str] = ()) -> list[Takeaway]:
    """Up to ``most`` short, distinct bullets for ``story`` (fewer if its takes say less).

    ``shown`` is the text the reader has just read above the bullets (the lead's
    paragraphs): no bullet repeats a sentence of it, word for word or in other words
    (two fifths of the bullet's terms in one of its sentences: "NVIDIA today announced it has
    entered into a definitive agreement to acquire Lumora Systems" under "Nvidia said on
    Monday it would acquire Lumora Systems … for about $6.5 billion in cash")."""
    vocabularies = [_terms(f"{i.title} {i.summary} {i.text}") for i in story.items]
    topic = _topic_terms(vocabularies)
    above = " ".join(" ".join(paragraph.split()) for paragraph in shown)
    said = [_terms(sentence) for _, sentence in split_sentences(above)]
    candidates = [
        c
        for take, item in enumerate(story.items)
        for c in _candidates(item, take, vocabularies, topic, above)
        if not any(_restates(c.terms, terms) for terms in said)
    ]
    # Sentences opening on "It", "This", "They"... or pointing back ("that strategy") need
    # their context, and guesses ("may redefine") are not facts: only as a last resort.
    standalone = [c for c in candidates if not _needs_context(c.text)]
    chosen = _choose(standalone, topic, most, [])
    if len(chosen) < min(3, most):
        chosen = _choose(candidates, topic, min(3, most), chosen)
    chosen.sort(key=lambda c: (c.position, c.take))
    items = story.items
    return [Takeaway(c.text, items[c.take].url, items[c.take].source) for c in chosen]


def _needs_context(text: str) -> bool:
    """Whether ``text`` leans on the sentences around it, or only guesses."""
    return bool(_DANGLING_START.match(text) or _BACK_REFERENCE.search(text) or _HEDGE.search(text))


def split_sentences(text: str) -> list[tuple[int, str]]:
    """(paragraph index, sentence) for every sentence of ``text``."""
    rows = []
    for index, paragraph in enumerate(_PARAGRAPHS.split(text or "")):
        paragraph = " ".join(paragraph.split()).lstrip("-•* ")
        rows.extend((index, sentence) for sentence in sentences.split(paragraph))
    return rows


def is_boilerplate(sentence: str) -> bool:
    """Whether ``sentence`` is opinion, address to the reader or a call to action."""
    ending = sentence.rstrip()
    if _OPINION.search(sentence) or sentences.FEED_FOOTER.search(sentence):
        return True
    return ending.endswith(("?", "!", ":", " here."))


def _candidates(
    item: Item, take: int, vocabularies: list[frozenset[str]], topic: frozenset[str], above: str = ""
) -> list[Candidate]:
    """Every usable sentence of one take not already in ``above``, shortened and scored."""
    found = split_sentences(item.text or item.summary)[:80]
    total = max(len(found), 1)
    others = [v for index, v in enumerate(vocabularies) if index != take]
    rows = []
    for rank, (_, raw) in enumerate(found):
        if not raw.endswith((".", '"', "”", "’", ")")) or raw in above:
            continue  # a heading or a caption, not a sentence; or one the reader just read
        text = shorten(raw)
        words = len(text.split())
        terms = _terms(text)
        if not MIN_WORDS <= words <= MAX_WORDS or len(terms) < 4 or is_boilerplate(text) or _title_case(text):
            continue
        score = _agreement(terms, others, topic) + _factual(text, topic) - rank / total * 0.5
        score -= 0.03 * max(0, words - SHORT_WORDS)
        rows.append(Candidate(text, take, terms, score, rank / total))
    return rows


def shorten(sentence: str) -> str:
    """``sentence`` without filler openers and trailing attributions, capitalized."""
    text = " ".join(re.sub(r"\s*\[[^\]]{0,40}\]", "", sentence).split()).strip("-•*– ")
    for _ in range(2):
        text = _FILLER_START.sub("", text, count=1)
    text = _FILLER_END.sub(".", text)
    if len(text.split()) > 18:
        for match in _TAIL_CLAUSE.finditer(text):
            if len(text[: match.start()].split()) >= 8:
                text = text[: match.start()].rstrip(" ,;:—-") + "."
                break
    if text and not text.endswith((".", "!", "?", '"', "”")):
        text += "."
    return text[:1].upper() + text[1:]


def _title_case(text: str) -> bool:
    """Whether ``text`` Is Written Like A Headline (a heading or a related link)."""
    words = [w for w in text.split() if w[:1].isalpha() and len(w) > 3]
    return bool(words) and sum(w[0].isupper() for w in words) / len(words) > 0.7


def _agreement(terms: frozenset[str], others: list[frozenset[str]], topic: frozenset[str]) -> float:
    """How many other takes contain most of ``terms``, plus their mean coverage. The
    story's subject (``topic``) weighs little: every take names it, so it proves nothing."""
    if not others:
        return 0.0
    weight = {t: 0.25 if t in topic else 1.0 for t in terms}
    total = sum(weight.values())
    coverage = [sum(weight[t] for t in terms & other) / total for other in others]
    agreeing = sum(1 for c in coverage if c >= 0.5)
    return agreeing + sum(coverage) / len(coverage)


def _factual(text: str, topic: frozenset[str]) -> float:
    """A bonus for amounts, numbers and names other than the story's subject: what facts
    are made of. A sentence with neither is commentary, and loses points."""
    number = bool(re.search(r"\d", text))
    found = re.findall(r"(?<=\s)[A-Z][\w’'.-]+", text)
    names = {_stem(n.lower().strip(".’'-")) for n in found if len(n.strip(".’'-")) > 2} - topic
    if not number and not names:
        return -0.5
    return (0.4 if number else 0.0) + min(len(names), 3) * 0.15


def _topic_terms(vocabularies: list[frozenset[str]]) -> frozenset[str]:
    """Terms most takes share (the story's subject): they do not make bullets distinct."""
    if len(vocabularies) < 2:
        return frozenset()
    counts: dict[str, int] = {}
    for vocabulary in vocabularies:
        for term in vocabulary:
            counts[term] = counts.get(term, 0) + 1
    return frozenset(t for t, n in counts.items() if n >= max(2, len(vocabularies) * 0.8))


def _choose(
    candidates: list[Candidate], topic: frozenset[str], most: int, chosen: list[Candidate]
) -> list[Candidate]:
    """Add to ``chosen`` best-first, each bullet adding at least half new non-topic terms
    and sharing little with the others, until there are ``most``. Past three bullets,
    only facts at least a third as well supported as the best one are added."""
    chosen = list(chosen)
    ranked = sorted((c for c in candidates if c not in chosen), key=lambda c: c.score, reverse=True)
    floor = ranked[0].score * 0.3 if ranked and ranked[0].score > 0 else float("-inf")
    while len(chosen) < most:
        best = _next_bullet(ranked, chosen, topic)
        if best is None or (len(chosen) >= 3 and best.score < floor):
            break
        chosen.append(best)
        ranked.remove(best)
    return chosen


def _next_bullet(ranked: list[Candidate], chosen: list[Candidate], topic: frozenset[str]) -> Candidate | None:
    """The best candidate that says something ``chosen`` does not say yet."""
    covered = {t for c in chosen for t in c.terms - topic}
    used_takes = {c.take for c in chosen}
    best, best_score = None, float("-inf")
    for candidate in ranked:
        specific = candidate.terms - topic or candidate.terms
        novelty = len(specific - covered) / len(specific)
        if novelty < 0.5 or any(_redundant(candidate.terms, c.terms) for c in chosen):
            continue
        # Spread the links over the outlets, all else being equal.
        score = candidate.score + (0.15 if candidate.take not in used_takes else 0.0)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _terms(text: str) -> frozenset[str]:
    """Key terms of ``text``: content words, lightly stemmed, amounts normalized."""
    text = _AMOUNT.sub(lambda m: f" {m[1].replace(',', '.')}{_UNITS.get(m[2].lower(), m[2].lower())} ", text)
    words = (w.lower().strip("$%.,'’") for w in _WORD.findall(text))
    return frozenset(_stem(w) for w in words if len(w) > 2 and w not in STOPWORDS)


def _stem(word: str) -> str:
    """A crude stem: possessives and plural endings off, so "models" meets "model"."""
    word = re.sub(r"['’]s$", "", word)
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return re.sub(r"(?<=\w{4})(?:ment|ing|ed)$", "", word)


def _restates(bullet: frozenset[str], sentence: frozenset[str]) -> bool:
    """Whether a bullet of ``bullet``'s terms says again what a sentence of ``sentence``'s
    terms said: two fifths of its terms are the sentence's (a bullet adding a new fact to
    a figure already read, "…for $6.5 billion in cash, betting that light-based
    connections will be needed…", is kept: a quarter of its terms)."""
    return bool(bullet) and len(bullet & sentence) / len(bullet) >= 0.4


def _redundant(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two bullets state the same fact: most of the shorter one is in the other,
    or they share an amount or a precise figure ("87.4%") and a good part of their terms."""
    shared = len(a & b) / min(len(a), len(b))
    same_figure = any(_FIGURE.fullmatch(t) for t in a & b)
    return shared >= 0.35 or (same_figure and shared >= 0.25)
