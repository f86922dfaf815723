"""Text analysis for deduplication: tokens, stems, names and amounts.

Everything here works on plain strings and is deterministic; no model is loaded except
the small alias lexicon shipped in ``digest/data/dedup_aliases.json``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
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


def _trie_pattern(words: list[str]) -> str:
    """A regex matching any of ``words``, the longest first, factored by common prefixes:
    Python's re tries the branches of a flat alternation one by one at every position,
    which is slow for dozens of words; a trie fails after a character or two."""
    root: dict[str, dict] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def pattern(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + pattern(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        group = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{group})?" if "" in node else group

    return pattern(root)


@dataclass(frozen=True)
class Aliases:
    """The shipped name-variant lexicon, compiled: variants that keep their case ("US")
    and variants matched in lower case, each mapped to its canonical form."""

    exact: dict[str, str]
    exact_pattern: re.Pattern[str]
    folded: dict[str, str]
    folded_pattern: re.Pattern[str]  # matches lower-cased text


@lru_cache(maxsize=1)
def aliases() -> Aliases:
    """The lexicon of ``digest/data/dedup_aliases.json``. Matching ignores case except for
    variants listed as case-sensitive."""
    table = json.loads((DATA / "dedup_aliases.json").read_text(encoding="utf-8"))
    exact, folded = {}, {}
    for canonical, variants in table["aliases"].items():
        for variant in variants:
            if table.get("case_sensitive", {}).get(variant):
                exact[variant] = canonical
            else:
                folded[variant.lower()] = canonical
    return Aliases(
        exact,
        re.compile(rf"(?<!\w){_trie_pattern(list(exact))}(?!\w)" if exact else r"(?!)"),
        folded,
        re.compile(rf"(?<!\w){_trie_pattern(list(folded))}(?!\w)" if folded else r"(?!)"),
    )


def canonical_names(text: str) -> str:
    """``text`` with name variants ("Meta Platforms", "Facebook parent") in one spelling."""
    lexicon = aliases()
    if any(variant in text for variant in lexicon.exact):  # a few short literals: cheap
        text = lexicon.exact_pattern.sub(lambda m: lexicon.exact[m.group()], text)
    lower = text.lower()
    if len(lower) != len(text):  # a rare letter changed length when lower-cased: no offsets
        folded = re.compile(lexicon.folded_pattern.pattern, re.IGNORECASE)
        return folded.sub(lambda m: lexicon.folded[m.group().lower()], text)
    pieces, last = [], 0
    for m in lexicon.folded_pattern.finditer(lower):
        pieces += (text[last : m.start()], lexicon.folded[m.group()])
        last = m.end()
    return "".join(pieces) + text[last:] if pieces else text


# a variant that describes its firm rather than naming it ("Facebook parent", "maker of ChatGPT")
_DESCRIPTION = re.compile(r"\b(?:maker|parent|owner)\b", re.IGNORECASE)


@lru_cache(maxsize=1)
def _descriptions() -> tuple[re.Pattern[str], dict[str, str]]:
    """A pattern of the lexicon's descriptions (lower-cased text) and each one's firm."""
    lexicon = aliases()
    described = {v: name for v, name in lexicon.folded.items() if _DESCRIPTION.search(v)}
    pattern = rf"(?<!\w){_trie_pattern(list(described))}(?!\w)" if described else r"(?!)"
    return re.compile(pattern), described


def describes_only(title: str) -> bool:
    """Whether ``title`` describes a firm it never names ("Facebook parent signs nuclear
    deal"; not "Facebook parent Meta releases Llama 5", nor "Google parent Alphabet…",
    which names it by another of the lexicon's names)."""
    pattern, described = _descriptions()
    lower = title.lower()
    firms = {described[m.group()] for m in pattern.finditer(lower)}  # each firm once: linear time
    if not firms:
        return False
    rest = canonical_names(pattern.sub(" ", lower)).lower()
    return any(re.search(rf"\b{re.escape(firm.lower())}\b", rest) is None for firm in firms)


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


# a word or a number; or a mark right before one (end of sentence, quote, bracket): the
# word after a mark starts a sentence or a clause, where capitals say nothing of names
TOKEN = re.compile(r"[.!?:;\"“”(]\s*(?=[^\W_])|[^\W\d_][^\W_]*(?:[.'’][^\W\d_]+)*|\d+(?:[.,]\d+)*")
MARKS = frozenset('.!?:;"“”(。！？「『（')

# Chinese and Japanese put no space between words, so ``TOKEN`` would read a whole clause as
# one word. There, each run of Han characters or of katakana gives its overlapping pairs of
# characters ("追加出資": "追加", "加出", "出資"), which two takes of one event share however
# their words are cut; a run of hiragana (particles, endings) gives none; Latin words and
# numbers are read as elsewhere ("米OpenAIに" gives "米" and "OpenAI").
HAN = "\u3005\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
KATAKANA = "\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9f"
HIRAGANA = "\u3041-\u309f"
CJK = re.compile(f"[{HAN}{KATAKANA}{HIRAGANA}]")
_KATAKANA, _HIRAGANA = re.compile(f"[{KATAKANA}]"), re.compile(f"[{HIRAGANA}]")
CJK_TOKEN = re.compile(
    rf"[.!?:;\"“”(。！？「『（]\s*(?=[^\W_])|[{HAN}]+|[{KATAKANA}]+|[{HIRAGANA}]+"
    rf"|[^\W\d_{HAN}{KATAKANA}{HIRAGANA}][^\W_{HAN}{KATAKANA}{HIRAGANA}]*(?:[.'’][^\W\d_{HAN}{KATAKANA}{HIRAGANA}]+)*"
    r"|\d+(?:[.,]\d+)*"
)


def words(text: str) -> list[str]:
    """The tokens of ``text`` (see ``TOKEN``; Chinese and Japanese as ``CJK_TOKEN`` says)."""
    if text.isascii() or not CJK.search(text):
        return TOKEN.findall(text)
    out = []
    for token in CJK_TOKEN.findall(text):
        if not CJK.match(token):
            out.append(token)
        elif not _HIRAGANA.match(token):  # particles and endings
            out += [token[k : k + 2] for k in range(len(token) - 1)] if len(token) > 1 else [token]
    return out


def is_katakana(word: str) -> bool:
    """Whether ``word`` (two letters or more) is written in katakana, as Japanese writes
    foreign names ("ソフトバンク")."""
    return len(word) > 1 and _KATAKANA.match(word) is not None


def lower(word: str) -> str:
    """A word lower-cased as the dedup keys it: "İ" becomes "i", where ``str.lower``
    adds a combining dot that no vocabulary and no letter test knows."""
    return word.lower().replace("i\u0307", "i")


def term(word: str) -> str:
    """The term a word counts as ("" for stopwords, numbers and one-letter words)."""
    low = word.lower()
    return "" if low in STOPWORDS or word[0].isdigit() or len(low) < 2 else stem(low)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAY = re.compile(r"\b(" + "|".join(WEEKDAYS) + r")\b")  # on lower-cased text


def weekdays(text: str) -> int:
    """The weekdays ``text`` names, as a bit mask (Monday = 1, Sunday = 64)."""
    text = text.lower()
    mask = 0
    if "day" in text:
        for found in WEEKDAY.findall(text):
            mask |= 1 << WEEKDAYS.index(found)
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
    # German, French, Spanish: "1,5 Mrd. Euro", "600 millions d'euros" ("Billion" is 1e12)
    "tsd": 1e3,
    "tausend": 1e3,
    "mio": 1e6,
    "millionen": 1e6,
    "millions": 1e6,
    "millones": 1e6,
    "mrd": 1e9,
    "milliarde": 1e9,
    "milliarden": 1e9,
    "milliard": 1e9,
    "milliards": 1e9,
    "billionen": 1e12,
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
PERCENT = {"%", "percent", "per cent", "pct", "percentage", "prozent"}
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
UNIT = (
    r"(?P<unit>%|percent\b|per cent\b|pct\b|prozent\b"
    r"|dollars?\b|usd\b|euros?\b|eur\b|pounds?\b|yen\b|yuan\b)?"
)
# A number as English writes it ("1,500.5"), or with a decimal comma ("1,5", "12,75") or
# points between thousands ("1.200.000"), as German, French and Spanish write it.
NUMBER = r"\d+,\d{1,2}(?![\d,])|\d{1,3}(?:\.\d{3}){2,}(?![\d.])|\d+(?:,\d{3})*(?:\.\d+)?"
DIGIT_AMOUNT = re.compile(  # the lookahead lets the scan skip most positions at once
    rf"(?=[\d$€£¥u])(?:(?P<cur>us\$|\$|€|£|¥)\s?)?(?P<num>{NUMBER})"
    rf"(?:(?:\s|-(?=(?:thousand|million|billion|trillion)\b))?(?P<scale>(?:{SCALE_WORDS})\b)\.?)?\s?{UNIT}",
)  # "$600-million", as Canadian papers write it: a hyphen before a scale spelled out
DIGIT_WORDS = "zero|one|two|three|four|five|six|seven|eight|nine"
WORD_AMOUNT = re.compile(  # a spoken decimal's digits one by one: "two point four billion"
    rf"(?P<cur>)\b(?P<words>(?:(?:{NUMBER_WORDS})\b[\s-]?){{1,3}})"
    rf"(?:point(?P<decimals>(?:[\s-](?:{DIGIT_WORDS})\b)+)[\s-]?)?"
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


def _number(digits: str) -> float:
    """The value of a number that ``NUMBER`` matched: "1,500.5", "1,5", "1.200.000"."""
    if digits.count(".") > 1:
        return float(digits.replace(".", ""))
    if re.fullmatch(r"\d+,\d{1,2}", digits):
        return float(digits.replace(",", "."))
    return float(digits.replace(",", ""))


def _amount(match: re.Match[str]) -> str | None:
    """The normalized key of one matched amount, or None when it is not an amount."""
    groups = match.groupdict()
    cur, num, spelled, scale, unit = (groups.get(k) for k in ("cur", "num", "words", "scale", "unit"))
    if num:
        value = _number(num)
    else:
        if not (scale or unit or cur):
            return None  # "one of the", "two people": too common to mean anything
        value = _word_value(spelled or "")
        if value is None:
            return None
        if groups.get("decimals"):
            digits = re.split(r"[\s-]+", groups["decimals"].strip(" -"))
            value += float("0." + "".join(str(UNITS[d]) for d in digits))
    if scale:
        value *= SCALE[scale.lower()]
    kind = "%" if unit and unit.lower() in PERCENT else CURRENCY.get((cur or unit or "").lower(), "")
    if num and not (scale or kind) and len(num) == 1:
        return None  # bare single digits are rarely the point of a story
    return _key(kind, value)


def _key(kind: str, value: float) -> str | None:
    """The key of an amount of ``value`` (``kind``: its currency, "%" or ""), None for zero."""
    if not value:
        return None
    value = float(value)
    exact = value.is_integer() and value < 1e4
    return f"{kind}{int(value)}" if exact else f"{kind}{value:.2g}"


# Chinese and Japanese count in ten thousands: "1500億円" is ¥150 billion, "1億5000万ドル"
# $150 million, "21.59万元" ¥215,900 (yen and yuan share a sign, as in English)
CJK_SCALE = {"万": 1e4, "萬": 1e4, "億": 1e8, "亿": 1e8, "兆": 1e12}
CJK_UNIT = {"円": "¥", "元": "¥", "ドル": "$", "米ドル": "$", "美元": "$", "ユーロ": "€", "欧元": "€"}
CJK_UNIT |= {"ポンド": "£", "英镑": "£", "％": "%", "%": "%"}
_CJK_UNITS = "|".join(sorted(CJK_UNIT, key=len, reverse=True))
CJK_AMOUNT = re.compile(
    rf"(?P<num>(?:(?:{NUMBER})[万萬億亿兆])+|(?:{NUMBER})(?={_CJK_UNITS}))(?P<unit>{_CJK_UNITS})?"
)
_CJK_PART = re.compile(rf"({NUMBER})([万萬億亿兆])")


def _cjk_amount(match: re.Match[str]) -> str | None:
    """The key of an amount ``CJK_AMOUNT`` matched."""
    num, unit = match.group("num", "unit")
    parts = _CJK_PART.findall(num) or [(num, "")]
    value = sum(_number(digits) * CJK_SCALE.get(scale, 1) for digits, scale in parts)
    return _key(CJK_UNIT.get(unit or "", ""), value)


# a currency's code before its sum, as some outlets write it ("EUR 90M", "USD 1.5 billion")
_CODE_BEFORE = re.compile(r"\b(usd|eur|gbp)\s?(?=\d)")


def amounts(text: str) -> list[str]:
    """Amounts and numbers in ``text`` in one spelling: "$10B", "$10 billion" and
    "ten billion dollars" all give ``"$1e+10"``; 50% and "50 percent" give ``"%50"``;
    "10億ドル" gives ``"$1e+09"``."""
    text = text.lower()
    found = []
    if "eur" in text or "usd" in text or "gbp" in text:  # a cheap test first: most texts have none
        text = _CODE_BEFORE.sub(lambda m: CURRENCY[m[1]], text)
    if not text.isascii() and CJK.search(text):
        found = [_cjk_amount(m) for m in CJK_AMOUNT.finditer(text)]
        text = CJK_AMOUNT.sub(" ", text)
    matches = list(DIGIT_AMOUNT.finditer(text))
    if any(hint in text for hint in WORD_AMOUNT_HINTS):
        matches += WORD_AMOUNT.finditer(text)
    return [key for key in found + list(map(_amount, matches)) if key]


def display_amount(key: str) -> str:
    """An amount key as an editor writes it: "$1e+10" -> "$10 billion", "%50" -> "50%"."""
    kind, digits = (key[0], key[1:]) if not key[0].isdigit() else ("", key)
    value = float(digits)
    for size, name in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if value >= size:
            scaled = value / size  # "$400 million", "$14.3 billion", never "$4e+02 million"
            number = f"{scaled:.0f} {name}" if scaled >= 100 else f"{scaled:.3g} {name}"
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


# a word of a headline, as written ("Nvidia", "AMD's", "Gemini-2")
_HEADLINE_WORD = re.compile(r"[^\W\d_][\w.'’-]*")
_WORD_RUN = re.compile(r"\w+")
SUBJECT_WORDS = 4  # the words of a headline its subject is looked for in
# the site a forum's link post names after its title: "Claude Haiku 5 (anthropic.com)"
LINKED_SITE = r"\s\((?:[\w-]+\.)+[a-z]{2,}(?:/[^\s()]*)?\)\s*$"


def headline_subject(title: str, lead: str) -> str:
    """The name a headline is about, lower-cased: the first of its first ``SUBJECT_WORDS``
    words written with a capital that its lead names again as written ("Nvidia shares
    jump…", "Nvidia stock rose…" give "nvidia"; "xAI signs…", "Elon Musk's xAI has…" give
    "xai"; "Authors sue Salesforce…", "…sued Salesforce" give "salesforce"); "" when there
    is none. A lead that repeats a name of the headline's opening is about who it names."""
    return _first(headline_names(title, lead))[1]


def _first(names: list[tuple[int, str]]) -> tuple[int, str]:
    """The subject among ``headline_names``, the first within the first ``SUBJECT_WORDS``,
    with its place among the headline's words; (-1, "") when there is none."""
    return next(((place, name) for place, name in names if place < SUBJECT_WORDS), (-1, ""))


def subject_names(title: str, names: list[tuple[int, str]]) -> tuple[str, ...]:
    """The ways a headline (with its ``headline_names``) writes who it is about: the
    subject; the name right after it when the subject is an owner or a place in the
    possessive ("China's DeepSeek releases V4", "Musk's xAI"); and the first part of a
    compound ("DeepSeek-V4" is DeepSeek's). () when there is no subject."""
    place, subject = _first(names)
    if not subject:
        return ()
    ways = [subject]
    written = [found.group() for found in _HEADLINE_WORD.finditer(title.strip())]
    if re.search(r"['’]s$", written[place]):
        ways += [name for k, name in names if k == place + 1]
    ways += [way.split("-", 1)[0] for way in ways if re.fullmatch(r"[^\W\d_]{2,}-\w.*", way)]
    return tuple(dict.fromkeys(ways))


# a name and its version, as a headline writes them: "Grok 5", "Gemini 3.5", "GPT-5.5",
# "Llama v4"; not a sum ("Raises 500 million") or a share ("Up 5%")
_VERSIONED = re.compile(
    r"(?<![\w'’])([^\W\d_][\w'’]*+)[\s-]+v?(\d+(?:\.\d+)?)\b(?![.,]?\d|\s*(?:%|percent\b|[mb]illion\b|bn\b))",
    re.IGNORECASE,
)


def versions(title: str) -> frozenset[tuple[str, str]]:
    """The names with a version that ``title`` writes with a capital ("Grok 5 (x.ai)"
    gives ("grok", "5")), lower-cased."""
    found = ((re.sub(r"['’]s$", "", m[1]), m[2]) for m in _VERSIONED.finditer(title))  # "Meta's 2"
    return frozenset(
        (name.lower(), version)
        for name, version in found
        if any(char.isupper() for char in name) and name.lower() not in STOPWORDS
    )


def names_version(said: str, name: str, version: str) -> bool:
    """Whether ``said`` (lower-cased) names ``name`` with ``version`` ("grok 5", "gpt-5.5")."""
    return re.search(rf"\b{re.escape(name)}[\s-]*v?{re.escape(version)}\b(?![.,]\d)", said) is not None


def headline_names(title: str, lead: str) -> list[tuple[int, str]]:
    """The words of a headline written with a capital that its lead names again as
    written, each with its place among the headline's words, lower-cased, in order."""
    names, lead_words = [], frozenset(_WORD_RUN.findall(lead))
    for k, found in enumerate(_HEADLINE_WORD.finditer(title.strip())):
        word = re.sub(r"['’]s$", "", found.group())
        capitals = word[0].isupper() or any(char.isupper() for char in word[1:])  # "Nvidia", "xAI"
        if len(word) < 2 or not capitals or word.lower() in STOPWORDS:
            continue
        # a word of letters alone is in the lead as one of its runs of word characters
        plain = _WORD_RUN.fullmatch(word)
        if word in lead_words if plain else re.search(rf"\b{re.escape(word)}\b", lead):
            names.append((k, word.lower()))
    return names


# the kinds of event a headline reports, by their words (English, lower-cased): two
# headlines about one firm whose kinds differ (a launch, a lawsuit) report two events
EVENT_KINDS = {
    "launch": (
        r"launch(?:es|ed|ing)?|unveil\w*|releases?|released|debut\w*|rolls? out|rolled out|introduce[sd]?"
    ),
    "deal": (
        r"rais(?:e|es|ed|ing) (?:an? )?(?:[$€£¥]|\d[\d.,]*|funding|capital|money|cash)|funding|valuation|"
        r"invest(?:s|ed|ing|ments?|ors?)?|series [a-f]|acqui(?:res?|red|ring|sitions?)|buys|buying|bought|"
        r"takeover|merger"
    ),
    "legal": (
        r"sue[sd]?|suing|lawsuits?|court|judge|ruling|verdict|settle\w*|indict\w*|"
        r"convict\w*|fine[sd]|penalt\w*|antitrust|probe\w*|copyright"
    ),
    "jobs": (
        r"layoffs?|lays? off|laid off|job cuts|jobs cut|"
        r"(?:cuts?|cutting|slash\w*|eliminat\w*) (?:about |some |nearly )?"
        r"(?:[\d,]+|hundreds of|thousands of) jobs"
    ),
    "earnings": r"earnings|revenue|profits?|quarterly",
    "people": (
        r"hire[sd]|hiring|appoint\w*|step(?:s|ping|ped)? down|resign\w*|depart(?:s|ed|ure)|ousted|poach\w*"
    ),
    "partnership": (
        r"partner\w*|teams? up|alliance|agreements?|contract|"
        r"sign(?:s|ed|ing)? (?:an? )?[^.;:]{0,30}?(?:deal|pact|agreement|contract)"
    ),
    "security": r"outage|breach\w*|hack(?:s|ed|ing)?|cyberattack\w*",
}
# words that speak of a kind of event without reporting it: a take of a lawsuit's ruling
# may tell of the trial, one of a launch that the model is available
EVENT_HINTS = {
    "launch": (
        r"availab\w*|arriv\w*|ships|shipped|rollout|preview|beta|version|update[sd]?|features?|app|new model"
    ),
    "deal": r"deal|investors?|stake|shareholders?|backed|valued|round|takes? over|rais(?:e|es|ed|ing)",
    "legal": (
        r"trial|charged|charges|jury|prosecut\w*|lawyers?|alleg\w*|complaint|regulators?|investigation|"
        r"review|scrutin\w*|unconstitutional|block"
    ),
    "jobs": r"jobs?|employees|workers|staff|workforce|cuts|roles|headcount",
    "earnings": r"quarter|results|sales|shares|stock|analysts|market value|forecast\w*|outlook|guidance",
    "people": r"chief|executive|ceo|joins|leaves|leaving|named|successor|exit|departure",
    "partnership": (
        r"deal|agreement|contract|pact|collaborat\w*|jointly|co-develop\w*|together|tie-up|work with"
    ),
    "security": r"hackers?|attack\w*|flaw\w*|vulnerab\w*|patch\w*|exploit\w*",
}


_KINDS = "|".join(f"(?P<{kind}>{words})" for kind, words in EVENT_KINDS.items())
_EVENT_KIND = re.compile(rf"\b(?:{_KINDS})\b")  # no word of one kind is another's: one pattern finds all
_EVENT_HINT = {
    kind: re.compile(rf"\b(?:{words}|{EVENT_HINTS[kind]})\b") for kind, words in EVENT_KINDS.items()
}


def event_kinds(text: str, hints: bool = False) -> frozenset[str]:
    """The kinds of event of ``EVENT_KINDS`` that ``text`` reports ("Meta sued by
    authors over AI training" gives {"legal"}), or with ``hints`` speaks of
    (``EVENT_HINTS`` too: "the trial of two youths charged with murder" gives {"legal"})."""
    lowered = text.lower()
    if not hints:
        return frozenset(found.lastgroup for found in _EVENT_KIND.finditer(lowered) if found.lastgroup)
    return frozenset(kind for kind, pattern in _EVENT_HINT.items() if pattern.search(lowered))
