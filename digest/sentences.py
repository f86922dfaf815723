"""Where sentences end, for every part that cuts text into sentences: the issue's
subtitle, the lead's paragraphs, the takeaways, summaries made from an item's text;
and how any text is cut short (``shorten``).

A stop ends a sentence unless a word in lower case follows ("U.S. regulators"); a
full stop does not either when it ends an abbreviation or initials ("Dr. Lee", "U.S.
Army", "e.g. Cursor"), or it is "No." before a number ("No. 5").
"""

from __future__ import annotations

import re

# Words whose full stop does not end a sentence: titles, company forms, months, "etc";
# initials and initialisms ("J. Smith", "U.S.") are matched apart.
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sen rep gov gen col lt sgt st jr sr inc corp co ltd llc plc vs etc "
    "approx dept fig vol jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
_INITIALS = re.compile(r"(?:(?<![\w'’])[A-Za-z]\.)+$")  # "U.S.", "e.g.", "J.", not "Army's."
_NUMBER_SIGN = re.compile(r"\bNos?\.$")  # "No. 5"
_STOP = re.compile(r"[.!?][\"”’)]*(?=\s|$)")
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
    text = " ".join((text or "").split())
    found, start = [], 0
    for stop in _STOP.finditer(text):
        if ends_sentence(text[: stop.start() + 1], text[stop.end() + 1 :]):
            found.append(text[start : stop.end()].strip())
            start = stop.end()
    found.append(text[start:].strip())
    return [sentence for sentence in found if sentence]


def first(text: str) -> str:
    """The first sentence of ``text`` (all of it if it has no stop). A paragraph break
    ends a sentence too; and a paragraph with no stop at all before the text's first
    sentence (a byline, a dateline) is passed over, for a sentence of the story: not a
    credit, a feed's footer or a link onward."""
    paragraphs = [split(paragraph) for paragraph in _PARAGRAPH_BREAK.split(text or "")]
    openings = [sentences[0] for sentences in paragraphs if sentences]
    return next(
        (
            s
            for s in openings
            if s.rstrip('"”’)').endswith((".", "!", "?", "…"))
            and not _NOT_PROSE.search(s)
            and not FEED_FOOTER.search(s)
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
    word = before.rsplit(" ", 1)[-1]
    if _NUMBER_SIGN.search(word):
        return not after[0].isdigit()
    return word[:-1].lower().lstrip('("“‘') not in ABBREVIATIONS and not _INITIALS.search(word)


def shorten(text: str, limit: int = 200) -> str:
    """``text`` cut to at most ``limit`` characters, ``…`` included, at a word.

    A long token (a URL, a run-on word) is cut inside itself: cutting before it could
    leave a single word ("Visit…") of a summary that had room for much more.
    """
    text = str(text or "")
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    at_word = cut.rsplit(" ", 1)[0]
    if len(cut) - len(at_word) > LONG_TOKEN:
        at_word = cut
    return at_word.rstrip(",;:—- ") + "…"
