"""Where sentences end, for every part that cuts text into sentences: the issue's
subtitle, the lead's paragraphs, the takeaways, summaries made from an item's text;
and how any text is cut short (``shorten``).

A stop ends a sentence unless a word in lower case follows ("U.S. regulators"); a
full stop does not either when it ends an abbreviation or initials ("Dr. Lee", "U.S.
Army", "e.g. Cursor", German "z. B. Siemens", "1,5 Mrd. Euro"), or it is "No." before a
number ("No. 5"), or the ordinal of a date ("am 14. Juni"). A closing quote or bracket
after the stop stays with its sentence (”, German “, French » after a space); the
stops of Chinese and Japanese (。！？) need no space after them, and Arabic's ؟ is one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

# Words whose full stop does not end a sentence: titles, company forms, months, "etc";
# German, French and Spanish ones that a capitalized noun or a number follows ("Nr. 5",
# "600 Mio. Euro", "ca. 100", "bzw. Anbieter", "Sra. López", "EE. UU."); initials and
# initialisms ("J. Smith", "U.S.", "z. B.", "u. a.") are matched apart.
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sen rep gov gen col lt sgt st jr sr inc corp co ltd llc plc vs etc "
    "approx dept fig vol jan feb mar apr jun jul aug sep sept oct nov dec "
    "nr mio mrd tsd ca bzw usw vgl inkl zzgl ggf evtl sog bspw hr fr okt dez "
    "env cf mme sra srta dña núm pág ee".split()
)
_INITIALS = re.compile(r"(?:(?<![\w'’])[^\W\d_]\.)+$")  # "U.S.", "e.g.", "J.", "Ö.", not "Army's."
_NUMBER_SIGN = re.compile(r"\b(?:Nos?|Nr|Nº|N°)\.$")  # "No. 5", "Nr. 5"
# An ordinal written "14." before a month (German "am 14. Juni", "1. Quartal"): no stop.
_ORDINAL = re.compile(r"(?<![\d.,])\d{1,2}\.$")
_ORDINAL_BEFORE = re.compile(
    r"(?:Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November"
    r"|Dezember|Jan|Feb|Mär|Apr|Aug|Sept?|Okt|Nov|Dez|Quartal|Halbjahr|Jahrhundert)\b"
)
# A stop, with the closing quotes and brackets after it; one of Chinese and Japanese
# ends its sentence with no space after it, but not a quote that a particle goes on
# from (「速い。」と述べた).
_STOP = re.compile(
    r"(?=[.!?؟۔。！？])(?:[.!?؟۔](?:[\"”’“)]|\s?»)*(?=\s|$)|[。！？](?:[」』）)”]++(?![ぁ-ゟ])|(?![」』）)”])))"
)
_OPENERS = '("“‘„«'
_CLOSERS = '"”’“)»」』） '
ENDINGS = (".", "!", "?", "…", "。", "！", "？", "؟", "۔")  # what a sentence ends with
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# A blog platform's footer under every post ("The post X appeared first on Y."): no fact.
FEED_FOOTER = re.compile(r"\bappeared first on\b", re.I)
# A paragraph that is no text of the story: a credit, a link onward (or a feed's footer).
_NOT_PROSE = re.compile(
    r"(?i)^(?:photos?|images?|pictures?|credits?|video)\s*(?::|by\b)"
    r"|^(?:read more|continue reading|read the full)\b"
)
# When a text is shortened, a token longer than this at the cut (a URL, a run-on
# string) is cut inside itself rather than dropped whole.
LONG_TOKEN = 30


def split(text: str) -> list[str]:
    """The sentences of ``text`` (one paragraph), whitespace runs made single spaces."""
    return list(_sentences(text))


def _sentences(text: str) -> Iterator[str]:
    """``split``, one sentence at a time: ``first`` reads no further than it needs."""
    text = " ".join((text or "").split())
    start = 0
    for stop in _STOP.finditer(text):
        # what ends_sentence reads: the word before the stop, the first words after it
        before, after = text[max(0, stop.start() - 64) : stop.start() + 1], text[stop.end() : stop.end() + 32]
        if ends_sentence(before, after.lstrip()):
            if sentence := text[start : stop.end()].strip():
                yield sentence
            start = stop.end()
    if rest := text[start:].strip():
        yield rest


def first(text: str) -> str:
    """The first sentence of ``text`` (all of it if it has no stop). A paragraph break
    ends a sentence too; and a paragraph with no stop at all before the text's first
    sentence (a byline, a dateline) is passed over, for a sentence of the story: not a
    credit, a feed's footer or a link onward."""
    openings = [s for s in (next(_sentences(p), "") for p in _PARAGRAPH_BREAK.split(text or "")) if s]
    return next(
        (
            s
            for s in openings
            if s.rstrip(_CLOSERS).endswith(ENDINGS) and not _NOT_PROSE.search(s) and not FEED_FOOTER.search(s)
        ),
        openings[0] if openings else "",
    )


def ends_sentence(before: str, after: str) -> bool:
    """Whether the stop ending ``before`` ends a sentence, ``after`` being what follows."""
    if not after:
        return True
    if after[0].islower():  # "U.S. regulators", "Yahoo! said"
        return False
    if not before.endswith("."):
        return True
    word = before.rsplit(" ", 1)[-1].lstrip(_OPENERS)
    if _NUMBER_SIGN.search(word):
        return not after[0].isdigit()
    if _ORDINAL.search(word) and _ORDINAL_BEFORE.match(after):
        return False
    return word[:-1].lower() not in ABBREVIATIONS and not _INITIALS.search(word)


def shorten(text: str, limit: int = 200) -> str:
    """``text`` cut to at most ``limit`` characters, ``…`` included, at a word.

    A long token (a URL, a run-on word) is cut inside itself: cutting before it could
    leave a single word ("Visit…") of a summary that had room for much more.
    """
    text = str(text or "")
    if len(text) <= limit:
        return text
    cut = text[: _grapheme_start(text, limit - 1)]
    at_word = cut.rsplit(" ", 1)[0]
    if len(cut) - len(at_word) > LONG_TOKEN:
        at_word = cut
    elif (clause := _last_clause_end(at_word)) >= CLAUSE_SHARE * limit:
        at_word = at_word[:clause]  # "…co-led by Radical Ventures…", not "…as it expands deployments…"
    else:  # "…a new data center…", not "…a new data center in…" or "…that meet U.S.…"
        at_word = _without_lead_ins(at_word)
    return at_word.rstrip(",;:—- ") + "…"


# words a cut should not end on: they only lead into what was cut
_DANGLING = re.compile(
    r"(?:\s+(?:a|an|the|of|in|on|at|to|for|from|by|with|as|and|or|but|after|amid|its|their|his|her))+$", re.I
)


def _without_lead_ins(text: str) -> str:
    """``text`` without the words at its end that only lead into what was cut: "in",
    "the", and an abbreviation or initials ("U.S.", "Dr.") that name what came next."""
    while True:
        shorter = _DANGLING.sub("", text)
        head, _, word = shorter.rpartition(" ")
        if head and word.endswith(".") and not ends_sentence(word, "X"):
            shorter = head
        if shorter == text or not shorter:
            return text
        text = shorter


CLAUSE_SHARE = 0.6  # a cut at a clause keeps at least this share of the room, else at a word
_CLAUSE_END = re.compile(r"[,;:] | [—–] | \(")


def _last_clause_end(text: str) -> int:
    """Where the last clause of ``text`` ends (before ", ", "; ", " — ", " ("), or -1."""
    ends = [found.start() for found in _CLAUSE_END.finditer(text)]
    return ends[-1] if ends else -1


def _grapheme_start(text: str, at: int) -> int:
    """``at``, moved back to where what a reader sees as one character starts: not inside
    an emoji of several code points (joined, toned, a flag) or a letter and its accents."""
    while 0 < at < len(text) and (_continues(text[at]) or text[at - 1] == "\u200d"):
        at -= 1
    start = at  # a flag is two regional indicators: an odd run before the cut is half of one
    while start > 0 and "\U0001f1e6" <= text[start - 1] <= "\U0001f1ff":
        start -= 1
    return at - (at - start) % 2


def _continues(char: str) -> bool:
    """Whether ``char`` belongs to the character before it: an accent, a joiner, a
    variation selector, a skin tone, a tag of a subdivision flag."""
    return (
        unicodedata.combining(char) > 0
        or char in "\u200d\ufe0e\ufe0f"
        or "\U0001f3fb" <= char <= "\U0001f3ff"
        or "\U000e0020" <= char <= "\U000e007f"
    )
