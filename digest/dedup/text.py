"""Text analysis for deduplication: tokens, stems, names and amounts.

Everything here works on plain strings and is deterministic; no model is loaded except
the small alias lexicon shipped in ``digest/data/dedup_aliases.json``.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if
    in into is it its itself just me more most my myself no nor not now of off on once only
    or other our ours out over own same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up very was
    we were what when where which while who whom why will with would you your yours
    yourself said says say saying told tells according report reports reported new one two
    three first last year years week day days time times would could may might must many
    much us via amid per get gets got make makes made take takes took like just still even
    back well way another around since without within across upon whether though although
    however yet already including include includes mr mrs ms dr monday tuesday wednesday
    thursday friday saturday sunday today yesterday tomorrow""".split()
)

WORD = re.compile(r"[^\W\d_]+(?:[.'’][^\W\d_]+)*|\d+(?:[.,]\d+)*", re.UNICODE)


@lru_cache(maxsize=1)
def aliases() -> tuple[tuple[re.Pattern[str], dict[str, str]], ...]:
    """The shipped name-variant lexicon: (pattern, variant -> canonical form) per case rule.

    Matching is case-insensitive except for variants listed as case-sensitive ("US").
    """
    table = json.loads((DATA / "dedup_aliases.json").read_text(encoding="utf-8"))
    exact, folded = {}, {}
    for canonical, variants in table["aliases"].items():
        for variant in variants:
            if table.get("case_sensitive", {}).get(variant):
                exact[variant] = canonical
            else:
                folded[variant.lower()] = canonical
    out = []
    for mapping, flags in ((exact, 0), (folded, re.IGNORECASE)):
        if mapping:
            alternation = "|".join(re.escape(v) for v in sorted(mapping, key=len, reverse=True))
            out.append((re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", flags), mapping))
    return tuple(out)


@lru_cache(maxsize=1)
def _alias_starts() -> frozenset[str]:
    """First words of every variant, lower-cased unless case-sensitive: a text holding
    none of them needs no rewriting."""
    return frozenset(
        WORD.findall(v if p.flags & re.IGNORECASE == 0 else v.lower())[0] for p, m in aliases() for v in m
    )


def canonical_names(text: str) -> str:
    """``text`` with name variants ("Meta Platforms", "Facebook parent") in one spelling."""
    found = WORD.findall(text)
    starts = _alias_starts()
    if starts.isdisjoint(found) and starts.isdisjoint(w.lower() for w in found):
        return text
    for pattern, mapping in aliases():
        if mapping and pattern.flags & re.IGNORECASE:
            text = pattern.sub(lambda m, names=mapping: names[m.group().lower()], text)
        else:
            text = pattern.sub(lambda m, names=mapping: names[m.group()], text)
    return text


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light suffix-stripping stem: enough to join "sues", "sued" and "suing"."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) <= 4:
        return w
    for suffix, repl in (
        ("ies", "y"),
        ("sses", "ss"),
        ("ing", ""),
        ("ied", "y"),
        ("ed", ""),
        ("ches", "ch"),
        ("shes", "sh"),
        ("xes", "x"),
        ("s", ""),
    ):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not w.endswith(("ss", "us", "is")):
            w = w[: -len(suffix)] + repl
            break
    return w.rstrip(".'")


_TERM: dict[str, str] = {}
TOKEN = re.compile(r"([.!?:;\"“”(]\s*)?([^\W\d_][^\W_]*(?:[.'’][^\W\d_]+)*|\d+(?:[.,]\d+)*)", re.UNICODE)


def term(word: str) -> str:
    """The term a word counts as ("" for stopwords, numbers and one-letter words); cached."""
    found = _TERM.get(word)
    if found is None:
        low = word.lower()
        found = "" if low in STOPWORDS or word[0].isdigit() or len(low) < 2 else stem(low)
        if len(_TERM) < 500_000:
            _TERM[word] = found
    return found


def tokens(text: str) -> list[tuple[bool, str]]:
    """The words of ``text``, each with whether it starts a sentence (or quote, or clause)."""
    found = TOKEN.findall(text)
    return [(bool(b) or n == 0, w) for n, (b, w) in enumerate(found)]


def words(text: str) -> list[str]:
    """The raw word tokens of ``text`` (letters or digits), case kept."""
    return WORD.findall(text)


def terms(text: str) -> list[str]:
    """Stemmed content words of ``text``, stopwords and bare numbers left out."""
    out = []
    for w in WORD.findall(text):
        low = w.lower()
        if low in STOPWORDS or w[0].isdigit() or len(low) < 2:
            continue
        out.append(stem(low))
    return out


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAY = re.compile(r"\b(" + "|".join(WEEKDAYS) + r")\b", re.IGNORECASE)


def weekdays(text: str) -> int:
    """The weekdays ``text`` names, as a bit mask (Monday = 1, Sunday = 64)."""
    mask = 0
    for found in WEEKDAY.findall(text):
        mask |= 1 << WEEKDAYS.index(found.lower())
    return mask


SCALE = {
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "mn": 1e6,
    "m": 1e6,
    "mln": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "bln": 1e9,
    "trillion": 1e12,
    "tn": 1e12,
    "t": 1e12,
}
CURRENCY = {
    "$": "$",
    "us$": "$",
    "usd": "$",
    "dollar": "$",
    "dollars": "$",
    "€": "€",
    "eur": "€",
    "euro": "€",
    "euros": "€",
    "£": "£",
    "gbp": "£",
    "pound": "£",
    "pounds": "£",
    "¥": "¥",
    "yen": "¥",
    "yuan": "¥",
}
PERCENT = {"%", "percent", "per cent", "pct", "percentage"}
UNITS = {
    "0": 0,
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "half": 0.5,
    "dozen": 12,
}
NUMBER_WORDS = "|".join(sorted((k for k in UNITS if k != "0"), key=len, reverse=True))
SCALE_WORDS = "|".join(sorted(SCALE, key=len, reverse=True))
UNIT = r"(?P<unit>%|percent\b|per cent\b|pct\b|dollars?\b|usd\b|euros?\b|eur\b|pounds?\b|yen\b|yuan\b)?"
DIGIT_AMOUNT = re.compile(
    rf"(?:(?P<cur>us\$|\$|€|£|¥)\s?)?(?P<num>\d+(?:,\d{{3}})*(?:\.\d+)?)"
    rf"(?:\s?(?P<scale>(?:{SCALE_WORDS})\b))?\s?{UNIT}",
)
WORD_AMOUNT = re.compile(
    rf"(?P<cur>)\b(?P<words>(?:(?:{NUMBER_WORDS})\b[\s-]?){{1,3}})"
    rf"(?P<scale>(?:thousand|million|billion|trillion)\b)?\s?{UNIT}",
)
WORD_AMOUNT_HINTS = ("thousand", "illion", "percent", "per cent", "dollar", "euro", "pound")


def _word_value(text: str) -> float | None:
    """The value of a spelled-out number ("twenty five" -> 25), or None."""
    parts = [p for p in re.split(r"[\s-]+", text.lower()) if p]
    total = 0.0
    for part in parts:
        if part == "hundred":
            total = (total or 1) * 100
        elif part in UNITS:
            total += UNITS[part]
        else:
            return None
    return total


def _amount(match: re.Match[str]) -> str | None:
    """The normalized key of one matched amount, or None when it is not an amount."""
    groups = match.groupdict()
    cur, num, spelled, scale, unit = (groups.get(k) for k in ("cur", "num", "words", "scale", "unit"))
    if num:
        value = float(num.replace(",", ""))
    else:
        if not (scale or unit or cur):
            return None  # "one of the", "two people": too common to mean anything
        value = _word_value(spelled or "")
        if value is None:
            return None
    if scale:
        value *= SCALE[scale.lower()]
    kind = "%" if unit and unit.lower() in PERCENT else CURRENCY.get((cur or unit or "").lower(), "")
    if num and not (scale or kind) and len(num) == 1:
        return None  # bare single digits are rarely the point of a story
    if not value:
        return None
    value = float(value)
    exact = value.is_integer() and value < 1e4
    return f"{kind}{int(value)}" if exact else f"{kind}{value:.2g}"


def amounts(text: str) -> list[str]:
    """Amounts and numbers in ``text`` in one spelling: "$10B", "$10 billion" and
    "ten billion dollars" all give ``"$1e+10"``; 50% and "50 percent" give ``"%50"``."""
    text = text.lower()
    matches = list(DIGIT_AMOUNT.finditer(text))
    if any(hint in text for hint in WORD_AMOUNT_HINTS):
        matches += WORD_AMOUNT.finditer(text)
    return [key for key in map(_amount, matches) if key]


def display_amount(key: str) -> str:
    """An amount key as an editor writes it: "$1e+10" -> "$10 billion", "%50" -> "50%"."""
    kind, digits = (key[0], key[1:]) if not key[0].isdigit() else ("", key)
    value = float(digits)
    for size, name in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if value >= size:
            number = f"{value / size:.2g} {name}"
            break
    else:
        number = f"{value:.0f}" if value < 1e4 else f"{value:,.0f}"  # years keep no comma
        number = number if value.is_integer() else f"{value:g}"
    return f"{number}%" if kind == "%" else f"{kind}{number}"


def is_money(key: str) -> bool:
    """Whether an amount key is money, a percentage or a large count (what tells events apart)."""
    return key[0] in "$€£¥%" or (key[0].isdigit() and float(key) >= 1000 and not _year(key))


def _year(key: str) -> bool:
    value = float(key)
    return 1900 <= value <= 2100 and math.isclose(value, round(value))
