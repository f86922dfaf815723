"""Turn raw feed entries into clean ``Item``s.

Canonical URLs (tracking parameters stripped, fragment dropped, host lower-cased,
relative links resolved), UTC datetimes, repaired encoding (ftfy), plain text plus an
allow-listed HTML (nh3: no script, style, iframe, event handlers, javascript:/data:).
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin, urlsplit, urlunsplit

import ftfy
import nh3
from ftfy.chardata import CONTROL_CHARS, LIGATURES, WIDTH_MAP
from w3lib.url import canonicalize_url

from . import sentences
from .config import SourceConfig
from .models import FIELD_NAME, Entry, Item, relayed
from .parse import too_small
from .sentences import shorten

# fmt: off
TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "vero_", "_hs")
TRACKING_NAMES = {
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid",
    "mkt_tok", "ref_src", "_ga", "_gl", "oly_anon_id", "oly_enc_id", "rb_clickid", "s_cid",
    "cmpid", "wt.mc_id", "ncid", "sr_share", "spm",
}
# parameters that name the feed a link was read in when their value does ("?source=rss-3f2a…",
# Medium's, one value per feed of one post; "?ref=rss"): the same article, tracked
FEED_MARKERS = {"source", "src", "ref", "from"}
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "em", "figcaption", "figure", "h2", "h3",
    "h4", "hr", "i", "img", "li", "ol", "p", "pre", "q", "s", "small", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}
# fmt: on
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}
DEFAULT_PORTS = {"http": 80, "https": 443}
FTFY = ftfy.TextFixerConfig(uncurl_quotes=False, unescape_html=False, fix_character_width=False)
# ftfy's widths, but for its fullwidth punctuation, which Chinese and Japanese text is
# written with ("速い！", "本当？（笑）" are not "速い!", "本当?(笑)"): letters and digits
# ("ＡＩ", "１兆円") take their usual width, halfwidth katakana ("ﾃｽﾄ") its full one.
_WIDTHS = str.maketrans({c: w for c, w in WIDTH_MAP.items() if w.isalnum() or not w.isascii()})
# ftfy costs ~0.5 ms a KB of non-ASCII text and most text gives it nothing to do. It acts
# only on: UTF-8 read as Latin-1/cp1252 (a lead byte Â…ô before a continuation byte, or a
# lone Â/Ã), its common MacRoman/cp437/cp1251 forms, C1 controls, lost bytes (U+FFFD),
# odd line breaks, surrogates, and the control, ligature and width characters of its tables.
_CP1252_CONTINUATION = (
    r"\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014"
    r"\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
)
_FTFY_TABLES = "".join(re.escape(chr(c)) for c in sorted({*CONTROL_CHARS, *LIGATURES, *WIDTH_MAP}))
_FTFY_SINGLES = rf"\xc2\xc3\x80-\x9f\r\x85\u2028\u2029\ud800-\udfff\ufffd{_FTFY_TABLES}"
_FTFY_WORK = re.compile(  # the look-ahead first: one class test per character
    rf"(?=[\xc2-\xf4\u201a\u0432\u0393{_FTFY_SINGLES}])"
    rf"(?:[\xc2-\xf4][{_CP1252_CONTINUATION}]|\u201a\xc4|\u0432\u0402|\u0393\xc7|[{_FTFY_SINGLES}])"
)
# noncharacters (U+FDD0-FDEF and the last two code points of each plane) and surrogates.
# A class listing the 32 of the planes above the first is tested member by member at each
# character (150 µs for 2 KB of text, a sixth of normalizing an item): three ranges
# first, which all but those and the rare characters past U+1FFFD fail at once (16 µs)
_BMP_NONCHARACTERS = "\ufdd0-\ufdef\ud800-\udfff\ufffe\uffff"
_NONCHARACTERS = re.compile(
    f"(?=[{_BMP_NONCHARACTERS}\U0001fffe-\U0010ffff])[{_BMP_NONCHARACTERS}"
    + "".join(chr(p + 0xFFFE) + chr(p + 0xFFFF) for p in range(0x10000, 0x110000, 0x10000))
    + "]"
)
# bidirectional embeddings, overrides and isolates: in a headline (and so a Subject) they
# only serve to show text in an order other than its own ("‮gpj.exe"); the letters of
# Arabic or Hebrew carry their own direction
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI_CONTROLS = re.compile(f"[{_BIDI}]")
# a run of combining marks of the generic diacritic blocks past a few on one letter
# ("Z̶̷̸á́́́…", "zalgo"): browsers stack them, up over the stories above and the header
_GENERIC_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_MARK_FLOOD = re.compile(f"([{_GENERIC_MARKS}]{{4}})[{_GENERIC_MARKS}]+")
# one mark: what most text (composed by NFC) lacks. A pattern that opens on a lone class is
# scanned for it in C (19 µs for 2 KB); the flood's group and count cost 61 µs
_GENERIC_MARK = re.compile(f"[{_GENERIC_MARKS}]")
# characters that show nothing: "c\u200basino" reads "casino" and escapes exclude: [casino]
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]")
# of those, what a headline never needs ("P\u200ba\u200by\u200bP\u200ba\u200bl" reads PayPal in the
# Subject too); joiners (emoji, Persian, Indic) and direction marks stay. Taken out before
# ``fix_text``, whose word joiner keeps a feed's "%%EMAIL%%" from being filled in
_INVISIBLE_IN_TITLE = re.compile("[\u00ad\u180e\u200b\u2060-\u2064]")
# the start of what ``send`` would fill in per reader (``%%EMAIL%%``, ``%%NAME%%``): a
# word joiner between the two signs leaves it looking the same and filled by nobody. A
# field with a fallback is broken up at its start, closed or not: the issue puts another
# text of the feed a few tags after this one ("…20%%PLAN|</a><br>%% of…"), and what lies
# between would be taken for the fallback
_PLACEHOLDER_START = re.compile(rf"%%(?={FIELD_NAME}(?:%%|\|))")
MAX_TITLE, MAX_SUMMARY, MAX_TEXT = 300, 600, 20_000
LEAD_SEARCH = 5_000  # characters of the text the first paragraph of prose is looked for in
UNTITLED_WORDS = 100  # characters of a post's text that stand for its missing title
MAX_DEPTH = 1_000  # elements open at once; nh3's time grows with the square of it
_BLOCK_END = re.compile(
    r"(?i)</(p|div|li|h[1-6]|blockquote|tr|figure|figcaption|pre|ul|ol|table)>|<(br|hr)\s*/?>"
)
_TAG = re.compile(r"<(/?)([a-zA-Z][\w:-]*)[^<>]*?(/?)>")
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
_IMG = re.compile(r"<img\b[^<>]*>")
_IMG_SRC = re.compile(r'\ssrc="([^"]+)"')
_IMG_SIZE = re.compile(r'\s(?:width|height)="\s*(\d+)(?:px)?\s*"')  # pixels: not "50%"
# What publishing platforms add to every post they syndicate, matched by its markup (so a
# mirror or an aggregator of such a feed is cleaned too), not by the feed's host. Read as
# the story's summary it is the first thing a reader sees; in its text it shows in the
# lead and among the takeaways. Each pattern costs one pass: a tag's attributes are
# [^<>]* and a span between tags stops at the next tag of its kind, so markup repeating
# a pattern's opening a million times is read once, not once per opening.
_A = r"<a\b[^<>]*>"
_IN_A = r"(?:(?!</?a\b).){0,1000}</a>"  # a link's content (up to 1,000 characters) and its end
_ENDS_BLOCK = r"(?=\s*(?:</(?:p|div|li)>|<(?:br|p|div|img)\b|\Z))"  # what follows a link ending its paragraph
# (what the lower-cased markup must contain for the pattern to be tried: most posts
# hold none of them, and a search for a word costs far less than the pattern)
_BOILERPLATE = [
    (needle, re.compile(pattern, re.I | re.S))
    for needle, pattern in (
        # arXiv's listings: "arXiv:2506.11234v1 Announce Type: new \nAbstract: We study…"
        ("announce type", r"^\s*arXiv:\d{4}\.\d{4,5}(?:v\d+)?\s+Announce Type:\s*[\w-]+\s+Abstract:\s*"),
        # WordPress (Yoast SEO and many themes): "The post <a>X</a> appeared first on <a>Y</a>."
        ("appeared first on", rf"<p>\s*The post {_A}{_IN_A} appeared first on {_A}{_IN_A}\.?\s*</p>"),
        # Medium: "<a>X</a> was originally published in <a>Y</a> on Medium, where people…"
        (
            "originally published in",
            r"<p>(?:(?!</?p[\s>]).){0,2000}? was originally published in (?:(?!</?p[\s>]).){0,2000}?"
            r" on Medium, where people are continuing the conversation by highlighting and"
            r" responding to this story\.\s*</p>",
        ),
        # a link onward closing an excerpt: "Continue reading on Medium »", WordPress's
        # "Continue reading<span> “X”</span>", "Read more »"; closing it, it ends its
        # paragraph ("you can <a>read more</a> in the docs" is prose, and stays)
        ("continue reading", rf"{_A}\s*Continue reading\b{_IN_A}{_ENDS_BLOCK}"),
        ("read more", rf"{_A}\s*Read more\s*(?:»|›|→|&raquo;|&rarr;|\.\.\.|…|&hellip;)?\s*</a>{_ENDS_BLOCK}"),
        # Reddit: "submitted by <a>/u/x</a> <br/> <span><a>[link]</a></span> <span><a>[comments]</a></span>"
        (
            "submitted by",
            rf"submitted by(?:&#32;|\s)*{_A}\s*/u/[^<]*</a>\s*(?:<br\s*/?>)?"
            rf"(?:\s|&#32;|</?span>|{_A}\[(?:link|comments)\]</a>)*",
        ),
        # hnrss.org: "Article URL: <a>…</a>", "Comments URL: <a>…</a>", "Points: 312", "# Comments: 97"
        (" url:", rf"<p>\s*(?:Article URL|Comments URL):\s*{_A}[^<]*</a>\s*</p>"),
        ("points:", r"<p>\s*Points:\s*\d+\s*</p>"),
        ("# comments:", r"<p>\s*# Comments:\s*\d+\s*</p>"),
        # Hacker News's own feed: a description that is nothing but a "Comments" link
        ("comments", rf"^\s*{_A}\s*Comments\s*</a>\s*$"),
        # Substack: the subscribe box ("… consider becoming a free or paid subscriber",
        # an e-mail field) and the "Subscribe now" / "Share" buttons
        (
            "subscription-widget-wrap",
            r'<div class="subscription-widget-wrap[^<>]*>'
            r'(?:(?!</form>|<div class="subscription-widget-wrap).){0,5000}</form>\s*</div>\s*</div>',
        ),
        ("button-wrapper", r'<p class="button-wrapper"[^<>]*>(?:(?!</?p\b).){0,2000}</p>'),
        # a footnote's number, linking within the page, set against the word before it
        # ("41 of 50 kits<a href="#footnote-1">1</a>.") or opening the footnote itself
        ('href="#', r'(?<=[\w.,;:!?)"”’>])<a(?=\s)(?=[^<>]*\shref="#)[^<>]*>\s*\[?\d{1,3}\]?\s*</a>'),
        # a tracking pixel (Medium's, WordPress.com's stats): an image 0 or 1 pixel wide
        ("<img", r"<img\s(?=[^<>]*\swidth=[\"']?[01][\"'\s/>])[^<>]*>"),
    )
]
# WordPress's excerpt ending "[…]" (once the footer above is gone): an ellipsis, so that
# the reader still sees the excerpt stops short
_EXCERPT_END = re.compile(r" ?\[(?:…|&#8230;|&hellip;|\.\.\.)\](?=\s*(?:</p>\s*)?$)")
# a title that is only a version ("v0.9.1", "Release 2.0.0-rc1"): GitHub's release feeds
_VERSION_ONLY = re.compile(r"(?:release\s+|version\s+)?v?\d+(?:\.\d+)+[\w.+-]*", re.I)
# a call to buy, join or fund, which with a link makes a paragraph an advertisement
_PROMOTION = re.compile(
    r"(?i)\b(?:check out|sign up|subscribe to|use (?:the )?code|promo code|discount|sponsored by"
    r"|(?:support|join) (?:us|the show|the channel)|on patreon|patreon supporters)\b"
)
# A wire story's dateline opening its text: the place, perhaps the date, and the agency
# ("SAN FRANCISCO, June 14 (Reuters) -", "Paris (AFP) -", "(Bloomberg) --", "LONDON, June 13,
# 2025 /PRNewswire/ --", "SAN FRANCISCO--(BUSINESS WIRE)--"), or a place in capitals and its
# date ("BERLIN, June 13 —"). Left in, it opens the story's summary, the subtitle
# and the lead: an editor cuts it, as outlets reprinting wire copy do.
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}(?:,\s+\d{4})?"
_PLACE = r"[A-Z][\w.'’-]*(?:(?:,? |/)[A-Z][\w.'’-]*){0,4}"
_PLACE_IN_CAPITALS = r"[A-Z][A-Z.'’-]+(?:(?:,? |/)[A-Z][\w.'’-]*){0,4}"  # "WASHINGTON", "PALO ALTO, Calif."
_AGENCY = r"Reuters|AP|AFP|Bloomberg|CNN|CNBC|Xinhua|Kyodo|Yonhap|dpa|UPI|ANI|PTI|IANS|TASS|EFE|ANSA|AAP"
_DATELINE = re.compile(
    rf"(?:(?:{_PLACE}(?:,\s+{_MONTH})?\s*)?\((?:{_AGENCY})\)"  # "Paris (AFP)", "(Bloomberg)"
    # "BOSTON, June 14 (WBUR)": another outlet than an agency, with the date; without it,
    # capitals and a bracket are as often a name and its ticker or its words ("NVIDIA
    # (NVDA) - Shares rose", "LLM (Large Language Model) - A model that…"), which stay
    rf"|{_PLACE_IN_CAPITALS},\s+{_MONTH}\s*\([A-Z][\w&.'’ ]{{0,30}}\)"
    rf"|{_PLACE}(?:,\s+{_MONTH})\s*/[A-Z][\w ]{{0,30}}/"  # "…, June 14, 2025 /PRNewswire/"
    rf"|{_PLACE_IN_CAPITALS},\s+{_MONTH}"  # "BERLIN, June 13"
    r"|[A-Z][A-Z.'’ -]+--\([A-Z][A-Z ]+\))"  # "SAN FRANCISCO--(BUSINESS WIRE)"
    # then a dash and the story's first sentence: "Nvidia (NVDA) - a record" is no dateline
    r"\s*(?:--|[-–—])\s*(?=[A-Z0-9\"“‘'$])"
)
# a wire story's closing credit: "(Reporting by Jane Roe; Editing by Mark Poe)"
_WIRE_CREDIT = re.compile(r"\n\n\((?:Additional )?(?:Reporting|Writing|Editing|Compiled) by [^()]*\)$", re.I)
# an outlet's invitation to its newsletter opening a post ("Join our daily and weekly
# newsletters for the latest updates… Learn More", "Sign up for our AI newsletter…"):
# a subscribe box written as a paragraph, of a few hundred characters at most
_NEWSLETTER_PITCH = re.compile(r"(?i)(?:join|sign up for|subscribe to)\s(?:\S+\s){0,5}?newsletters?\b")
PITCH_CHARS = 300
# a character reference left in text already unescaped: the feed escaped it twice
# ("Orion 2 is out &amp;#8211; here&amp;#8217;s…", as some CMSs write their titles). A
# dash or a quote written as a number is never the outlet's words; a named entity may
# be ("&amp;" in a post about HTML), so it stays as it is.
_NUMERIC_REFERENCE = re.compile(r"&#(?:\d{2,7}|[xX][0-9a-fA-F]{2,6});")
# a forum's kind-of-post tag opening a title: r/MachineLearning's "[D]", "[R]", "[N]", "[P]"
_FLAIR = re.compile(r"^\[[A-Z]{1,2}\]\s+")
# what a headline shouts before its news ("BREAKING:", "BREAKING NEWS -", "JUST IN:",
# "EXCLUSIVE:", "UPDATE 2-", "[UPDATED]", "LIVE:"): in capitals, or in brackets; said
# in an issue of the day's news it is noise, and it hides two outlets' one headline
_SHOUT_WORDS = r"BREAKING(?: NEWS)?|JUST IN|EXCLUSIVE|UPDATED?(?: \d+)?|LIVE|DEVELOPING"
# every tag a headline opens on, in one match: stripping them one by one copies the rest
# of the title each time, which a hostile feed's megabyte of "BREAKING: " makes take minutes
_SHOUT_TAGS = re.compile(rf"^(?:(?:(?:{_SHOUT_WORDS})(?::|\s[-–—|]\s|(?<=\d)-)|\[(?i:{_SHOUT_WORDS})\])\s*)+")
# a word of a headline, as its capitals are set ("GPT-5", "OpenAI", "don't")
_WORD = re.compile(r"[^\W_](?:[\w'’-]*\w)?")
# a sentence's first word: its capital says nothing of how the word is written elsewhere
_SENTENCE_START = re.compile(r"(?:^|[.!?:]\s+|\n)$")
_POSSESSIVE = re.compile(r"['’][sS]$")  # what a name's possessive ends with
# where a sentence or a line of an item's text ends
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n")
SHOUTING_SHARE, SHOUTING_WORDS = 0.9, 4  # capitals among the letters, words at least
# words only an English headline has: a headline in capitals whose text does not spell
# most of its words is put in small letters only if it is English ("ÉCLAIR SUR LA
# FRANCE", "NEUE MODELLE FÜR UNTERNEHMEN" would lose their nouns' and names' capitals)
_ENGLISH_MARKS = frozenset("the and for with from will how why what after to of its new says over".split())
# short words that are no acronyms, though a headline in capitals writes them so ("FOR",
# "NEW"): another word of three letters or fewer ("EU", "GPU") keeps its capitals when
# the item's text does not show how it is written
_SMALL_WORDS = frozenset(
    "a an and are as at be but by can do for from get has had how in is it its new no not now of on "
    "one or our out over set so than the to top two up us was we who why will with you big all may".split()
)
# arXiv's older listings end each title with its identifier and category
_ARXIV_TITLE_TAIL = re.compile(r"\.?\s*\(arXiv:\d{4}\.\d{4,5}v\d+\s*\[[\w.-]+\](?:\s*UPDATED)?\)$")
# a description that opens on an escaped tag of the kinds descriptions are made of
# ("&lt;p&gt;", "&lt;div class=...&gt;", "&lt;img ...&gt;"): markup escaped twice
_ESCAPED_OPENING = re.compile(
    r"\s*&lt;(?:p|div|span|a|b|i|em|strong|img|ul|ol|h[1-6]|figure|blockquote|table|section)(?:\s[^&]*?)?/?&gt;",
    re.I,
)


@dataclass
class Normalized:
    """One feed's items, and how many of its entries were left out and why."""

    items: list[Item]
    filtered_out: int = 0  # by the source's include/exclude keywords
    over_max: int = 0  # past the source's max_items, the oldest first
    untitled: int = 0  # neither a title nor any text to make one from
    repeated: int = 0  # an entry whose link (its id) another entry of the feed has
    warning: str = ""  # what the build should say about the feed though it worked


def normalize(
    entries: Sequence[Entry], source: SourceConfig, fetched_at: datetime, section: str
) -> list[Item]:
    """The source's entries as ``Item``s: filtered, capped at ``max_items``, newest first."""
    return normalize_counted(entries, source, fetched_at, section).items


def normalize_counted(
    entries: Sequence[Entry], source: SourceConfig, fetched_at: datetime, section: str
) -> Normalized:
    """``normalize``, with the entries it left out counted by reason."""
    items = _told_apart([_item(e, source, fetched_at, section) for e in entries], entries, source)
    titled = [i for i in items if i.title]
    once = list({i.id: i for i in reversed(titled)}.values())[::-1]  # the first of each link
    kept = [i for i in once if _passes_filters(i, source)]
    kept.sort(key=lambda i: i.published or fetched_at, reverse=True)
    return Normalized(
        kept[: source.max_items],
        filtered_out=len(once) - len(kept),
        over_max=max(len(kept) - source.max_items, 0),
        untitled=len(items) - len(titled),
        repeated=len(titled) - len(once),
    )


def _told_apart(items: list[Item], entries: Sequence[Entry], source: SourceConfig) -> list[Item]:
    """``items`` (one per entry), where entries at one link are told apart by what else
    they carry: their anchors, when each has its own (a changelog's ``page#v1-2`` and
    ``page#v1-3``: each item keeps its anchor, and its id is that link's), or else their
    GUIDs (the id of a link-less entry's). Entries at one link that nothing tells apart
    stay one article, repeated or updated (``page`` and ``page#comments`` too). Ids change
    only where links collide, so they stay as they were elsewhere."""
    at_link: dict[str, list[int]] = {}
    for k, item in enumerate(items):
        if item.url:
            at_link.setdefault(item.url, []).append(k)
    out = list(items)
    for ks in at_link.values():
        if len(ks) < 2:
            continue
        anchored = [canonical_url(entries[k].link, entries[k].base, anchor=True) for k in ks]
        guids = [entries[k].guid for k in ks]
        if len(set(anchored)) > 1 and all(urlsplit(url).fragment for url in anchored):
            for k, url in zip(ks, anchored):
                out[k] = replace(out[k], id=_item_id(url), url=url)
        elif all(guids) and len(set(guids)) > 1:
            for k, guid in zip(ks, guids):
                out[k] = replace(out[k], id=_item_id(_guid_key(source, guid)))
    return out


def _item_id(key: str) -> str:
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def _guid_key(source: SourceConfig, guid: str) -> str:
    """An item's key by its GUID, which is unique in its own feed only ("1", "post-2")."""
    return f"{source.name}\n{guid}"


def _item(entry: Entry, source: SourceConfig, fetched_at: datetime, section: str) -> Item:
    url = canonical_url(entry.link, entry.base)
    body_html = sanitize_html(without_boilerplate(unescape_markup(fix_text(entry.content))), entry.base)
    # from the story's first paragraph: not a sponsor's line or a newsletter's invitation
    text = without_wire_marks(_after_promotion(html_to_text(body_html)[:MAX_TEXT]))
    title = without_bidi(" ".join(fix_text(_INVISIBLE_IN_TITLE.sub("", _characters(entry.title))).split()))
    title = _ARXIV_TITLE_TAIL.sub("", title)
    title = _FLAIR.sub("", title) or title
    title = without_shouting_tags(title)
    if _VERSION_ONLY.fullmatch(title) and source.name.lower() not in title.lower():
        title = f"{source.name} {title}"  # "v0.9.1" alone names no project
    described = _after_promotion(html_to_text(without_boilerplate(unescape_markup(fix_text(entry.summary)))))
    described = without_wire_marks(described)
    title = calm_capitals(title, text, described)
    summary = shorten(described, MAX_SUMMARY)
    # a description that only repeats the headline says nothing more: the text's lead
    # says it instead, unless that too is the headline again
    if not summary or _same_words(summary, title):
        summary = lead_sentences(text)
        summary = "" if _same_words(summary, title) else summary
    elif _cut_from(summary, text):  # "…through a new Foundation Models framework, le": the text has it whole
        summary = lead_sentences(text)
    # a post without a title (a microblog's) is known by its first words, which then
    # leave its summary: the issue would print the same sentence twice
    untitled = not title
    title = shorten(title, MAX_TITLE) or _first_words(summary or text)
    if untitled and summary.startswith(title):
        summary = summary[len(title) :].strip()
    key = url or (_guid_key(source, entry.guid) if entry.guid else f"{source.name}\n{title}")
    return Item(
        id=_item_id(key),
        title=title,
        url=url,
        source=_outlet(entry, source),
        published=_published(entry.published, fetched_at),
        summary=summary,
        text=text,
        html=body_html,
        image=_image(entry, body_html),
        author=" ".join(html_to_text(fix_text(entry.author)).split())[:120] or None,
        guid=entry.guid or None,
        section=section,
        weight=source.weight,
        discussion=canonical_url(entry.discussion, entry.base, anchor=True) or None,  # "#comments"
    )


def canonical_url(url: str, base: str = "", anchor: bool = False) -> str:
    """The canonical form of ``url``: absolute http(s), no tracking, no fragment (unless
    ``anchor``); else ""."""
    url = (url or "").strip()
    if not url:
        return ""
    try:
        absolute = urljoin(base, url) if base else url
        if urlsplit(absolute).scheme.lower() not in DEFAULT_PORTS:
            return ""
        parts = urlsplit(canonicalize_url(absolute, keep_fragments=anchor))
        host, port = parts.hostname or "", parts.port
    except ValueError:  # a port that is not a number, a broken IPv6 address: not a usable link
        return ""
    if not host:
        return ""
    # canonicalize_url sorted and encoded the query; repeated keys (?tag=a&tag=b) are kept.
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking(*p.partition("=")[::2]))
    host = f"[{host}]" if ":" in host else host
    netloc = host if port in (None, DEFAULT_PORTS[parts.scheme]) else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", query, parts.fragment if anchor else ""))


def _is_tracking(name: str, value: str) -> bool:
    lowered = name.lower()
    return (
        lowered in TRACKING_NAMES
        or lowered.startswith(TRACKING_PREFIXES)
        or (lowered in FEED_MARKERS and value.lower().startswith("rss"))
    )


def fix_text(text: str) -> str:
    """Repair mojibake and odd Unicode (ftfy), keeping typographic quotes; drop what is
    not a character (U+FFFE, lone surrogates), which email renderers refuse; and break
    up any ``%%NAME%%`` so that feed text cannot fill in a reader's own details."""
    if not text:
        return ""
    if _FTFY_WORK.search(text):
        text = unicodedata.normalize("NFC", ftfy.fix_text(text, config=FTFY).translate(_WIDTHS))
    else:  # nothing for ftfy to do but the normal form
        text = unicodedata.normalize("NFC", text)
    # isascii() reads a flag of the string; a noncharacter or a surrogate is never ASCII
    if not text.isascii():
        text = _NONCHARACTERS.sub("", text)
        text = _MARK_FLOOD.sub(r"\1", text) if _GENERIC_MARK.search(text) else text
    return _unfillable(text)


def _unfillable(text: str) -> str:
    """``text`` with any ``%%NAME%%`` broken up."""
    return _PLACEHOLDER_START.sub("%\u2060%", text) if "%%" in text else text


def unescape_markup(markup: str) -> str:
    """``markup`` that a feed escaped twice ("&lt;p&gt;Nvidia sold…&lt;/p&gt;": it opens
    on an escaped tag and has no tag of its own) as the markup it stands for; any other
    markup as it is. Read once, it would show its tags as text. A text that names a tag
    in passing ("every &lt;img&gt; without alt text") is text: it is left alone."""
    if _TAG.search(markup or "") or not _ESCAPED_OPENING.match(markup or ""):
        return markup
    return html.unescape(markup)


def _after_promotion(text: str) -> str:
    """``text`` from its first paragraph that is no promotion: a video's or a podcast's
    description often opens on its sponsor ("❤️ Check out Lambda here and sign up for
    their GPU Cloud: https://…"), and an outlet's post on an invitation to its newsletter,
    either of which would be the story's summary."""
    if "://" not in text and not _NEWSLETTER_PITCH.match(text):
        return text  # most texts: no link written out, so no advertisement with one
    paragraphs = text.split("\n\n")
    for start, paragraph in enumerate(paragraphs):
        if not (("://" in paragraph and _PROMOTION.search(paragraph)) or _is_pitch(paragraph)):
            return "\n\n".join(paragraphs[start:])
    return ""


def _is_pitch(paragraph: str) -> bool:
    """Whether ``paragraph`` is an invitation to the outlet's newsletter, and no more."""
    return len(paragraph) <= PITCH_CHARS and _NEWSLETTER_PITCH.match(paragraph) is not None


def without_shouting_tags(title: str) -> str:
    """``title`` without the tags it opens on ("BREAKING: ", "[Updated] "), or as it is
    if nothing would be left of it."""
    return _SHOUT_TAGS.sub("", title, count=1) or title


def calm_capitals(title: str, *texts: str) -> str:
    """``title`` in sentence case if it is written in capitals ("OPENAI RELEASES GPT-5
    FOR EU USERS": nearly all of its letters, in ``SHOUTING_WORDS`` words or more, Latin
    letters only), each word spelled as the item's own ``texts`` spell it ("OpenAI",
    "GPT-5", "EU"; "OpenAI's" from "OpenAI"); a word the text does not have keeps its
    capitals if it holds a digit ("H100") or is a short word but no common one ("GPU").
    Left as it is when the text spells fewer than half of its words and it has no word
    only English has, and when it is not written in capitals."""
    if not _shouts(title):
        return title  # most titles: the texts are not even joined
    spelled = _spellings("\n".join(texts))
    words = [word.group() for word in _WORD.finditer(title)]
    known = sum(_POSSESSIVE.sub("", word).casefold() in spelled for word in words)
    if 2 * known < len(words) and not any(word.casefold() in _ENGLISH_MARKS for word in words):
        return title  # another language's nouns or accents, with nothing to spell them by

    def spell(word: re.Match[str]) -> str:
        plain = word.group()
        if known := spelled.get(plain.casefold()):
            return known
        name = _POSSESSIVE.sub("", plain)  # "OPENAI'S": the text may name "OpenAI" only
        if name != plain and (known := spelled.get(name.casefold())):
            return known + plain[len(name) :].lower()
        short = len(plain) <= 3 and plain.casefold() not in _SMALL_WORDS
        return plain if short or any(char.isdigit() for char in plain) else plain.lower()

    calm = _WORD.sub(spell, title)
    return calm[:1].upper() + calm[1:]


def _shouts(text: str) -> bool:
    """Whether ``text`` is written in capitals: nearly all of its letters, in
    ``SHOUTING_WORDS`` words or more, Latin letters only."""
    letters = [char for char in text if char.isalpha()]
    capitals = sum(char.isupper() for char in letters)
    return (
        len(text.split()) >= SHOUTING_WORDS
        and capitals >= SHOUTING_SHARE * len(letters)
        and all(unicodedata.name(char, "").startswith("LATIN") for char in letters)
    )


def _spellings(text: str) -> dict[str, str]:
    """How ``text`` writes each of its words, by their case-folded form: as it writes it
    most often, a sentence's first word only where its capitals say more than that
    ("OpenAI", not "The"). A sentence in capitals says nothing: a description that
    repeats the shouted headline would keep every word of it in capitals."""
    text = "\n".join(sentence for sentence in _SENTENCE_BREAK.split(text) if not _shouts(sentence))
    seen: dict[str, Counter[str]] = {}
    for word in _WORD.finditer(text):
        form = word.group()
        opening = _SENTENCE_START.search(text, max(word.start() - 3, 0), word.start())
        if not opening or form != form.capitalize():
            seen.setdefault(form.casefold(), Counter())[form] += 1
    return {key: forms.most_common(1)[0][0] for key, forms in seen.items()}


def _outlet(entry: Entry, source: SourceConfig) -> str:
    """The outlet an item is shown under: its source's name, or for an aggregator's item
    the outlet its ``<source>`` names, "Business Insider (via Google News)": whose take it
    is, and two outlets' takes relayed by one aggregator are not one outlet's two takes."""
    publisher = without_bidi(" ".join(fix_text(entry.publisher).split()))
    if not publisher or publisher.casefold() == source.name.casefold():
        return source.name
    return relayed(publisher, source.name)


def without_boilerplate(markup: str) -> str:
    """``markup`` without what its publishing platform adds to every post (see
    ``_BOILERPLATE``): footers, "Continue reading" links, subscribe boxes, vote counts,
    footnote numbers and tracking pixels."""
    if not markup:
        return ""
    lower = markup.lower()
    for needle, pattern in _BOILERPLATE:
        if needle in lower:
            markup = pattern.sub("", markup)
    return _EXCERPT_END.sub(" …", markup) if "]" in markup else markup


def without_wire_marks(text: str) -> str:
    """``text`` (plain, paragraphs apart) without a wire story's dateline opening its
    story ("SAN FRANCISCO, June 14 (Reuters) - OpenAI on Saturday…" reads "OpenAI on
    Saturday…"; after a byline, it opens the second or third paragraph) and without its
    closing credit ("(Reporting by …; Editing by …)")."""
    if not text:
        return text
    paragraphs = text.split("\n\n", 3)  # the first three, and the rest as it is
    for at, paragraph in enumerate(paragraphs[:3]):
        dateline = _DATELINE.match(paragraph)
        if dateline:
            paragraphs[at] = paragraph[dateline.end() :]
            text = "\n\n".join(paragraphs)
            break
    credit = text.rfind("\n\n(")  # the last paragraph's, if any: read from there only
    return text[:credit] if credit >= 0 and _WIRE_CREDIT.match(text, credit) else text


_ELLIPSIS_END = re.compile(r"\s*(?:\[(?:…|\.\.\.)\]|…|\.\.\.)$")
_SENTENCE_END = re.compile(r"[.!?][\"”’)]*$")


def _cut_from(summary: str, text: str) -> bool:
    """Whether ``summary`` is the start of ``text`` cut off in its first sentence (a
    feed's description of a set length, "…the Foundation Models framework, le"), perhaps
    with an ellipsis: the last word may be cut too, so it is not compared. A summary
    whose first sentence is whole is kept: the issue shows that sentence."""
    first = sentences.first(summary)
    if _SENTENCE_END.search(first) and not _ELLIPSIS_END.search(first):
        return False
    words = _ELLIPSIS_END.sub("", summary).split()[:-1]
    return len(words) >= 5 and " ".join(text.split()).startswith(" ".join(words) + " ")


def _same_words(summary: str, title: str) -> bool:
    """Whether ``summary`` opens on a paragraph that is ``title`` again (but for case,
    punctuation and spacing), perhaps with a name after it: the outlet's, as Google
    News's descriptions give each headline ("Title&nbsp;&nbsp;The Verge"). Words that go
    on with the headline ("Rust 1.80 released with LazyCell") are a summary."""
    opening = re.findall(r"\w+", summary.split("\n\n", 1)[0])
    headline = re.findall(r"\w+", title.lower())
    if not headline or [word.lower() for word in opening[: len(headline)]] != headline:
        return False
    rest = opening[len(headline) :]
    return len(rest) <= 5 and all(
        word[0].isupper() or word[0].isdigit() or word in _IN_NAMES for word in rest
    )


_IN_NAMES = frozenset("of and the for on de du la le des der die".split())  # "The Bank of England"


def sanitize_html(markup: str, base: str = "") -> str:
    """Allow-listed HTML: no script/style/iframe, no event handlers, only http(s)/mailto links.

    Relative links and image sources are resolved against ``base`` (the feed's URL).
    Markup nested deeper than ``MAX_DEPTH`` keeps its text and loses its tags: nh3
    would take minutes over 200,000 nested elements.
    """
    markup = markup or ""
    if _depth(markup) > MAX_DEPTH:  # html_to_text would use nh3 too: tags go by pattern
        text = html.unescape(_TAG.sub(" ", _BLOCK_END.sub("\n\n", markup)))
        paragraphs = (" ".join(p.split()) for p in text.split("\n\n"))
        markup = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs if p)
    return nh3.clean(
        markup,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_resolver(base) if base.startswith(("http://", "https://")) else None,
    )


def _depth(markup: str) -> int:
    """How many elements are open at most at once, by counting tags (void elements and
    self-closed ones aside): one pass, whatever the nesting."""
    depth = deepest = 0
    for tag in _TAG.finditer(markup):
        if tag.group(1):
            depth = max(depth - 1, 0)
        elif not tag.group(3) and tag.group(2).lower() not in _VOID:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def _resolver(base: str) -> Callable[[str, str, str], str]:
    def resolve(element: str, attribute: str, value: str) -> str:
        if attribute in ("href", "src"):
            try:
                return urljoin(base, value)
            except ValueError:
                return ""
        return value

    return resolve


def html_to_text(markup: str) -> str:
    """Plain text of ``markup``, paragraphs separated by blank lines, without bidi
    controls: an override left open reverses what follows it in the email too (a quote
    card's date and "View post"), not only in its own text."""
    spaced = _BLOCK_END.sub("\n\n", markup or "")
    # what the markup escaped is text only now: "&#37;&#37;EMAIL&#37;&#37;" is checked here
    # (html.unescape gives no noncharacter: it drops "&#xfffe;" and makes "&#xd800;" U+FFFD)
    text = without_bidi(_unfillable(_characters(html.unescape(nh3.clean(spaced, tags=set())))))
    paragraphs = (" ".join(p.split()) for p in text.split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)


def without_bidi(text: str) -> str:
    """``text`` without bidi controls (``_BIDI_CONTROLS``)."""
    # most text has none: nine searches for one character cost a tenth of the expression's pass
    return _BIDI_CONTROLS.sub("", text) if any(control in text for control in _BIDI) else text


def _characters(text: str) -> str:
    """``text`` with the numeric character references a feed escaped twice as the
    characters they stand for (see ``_NUMERIC_REFERENCE``)."""
    return _NUMERIC_REFERENCE.sub(lambda ref: html.unescape(ref.group()), text) if "&#" in text else text


def lead_sentences(text: str, limit: int = 280) -> str:
    """The first sentences of ``text`` that fit in ``limit`` characters."""
    paragraphs = text.split("\n\n") if text else [""]
    first = paragraphs[0]
    if len(paragraphs) > 1:  # from the first paragraph of prose: not a heading ("Highlights") or a byline
        opening = sentences.first(text[:LEAD_SEARCH])
        first = next((p for p in paragraphs if opening and p.startswith(opening)), first)
    summary = ""
    for sentence in sentences.split(first):
        if summary and len(summary) + len(sentence) + 1 > limit:
            break
        summary = f"{summary} {sentence}".strip()
    return shorten(summary, limit)


def _first_words(text: str) -> str:
    """A title for a post that has none: its first sentence, up to ``UNTITLED_WORDS``."""
    first = text.split("\n\n", 1)[0] if text else ""
    return shorten(sentences.first(first), UNTITLED_WORDS)


def _published(value: datetime | None, fetched_at: datetime) -> datetime | None:
    """UTC publication time; None if missing or implausibly in the future (``collect``
    then dates the item by when it was first seen, so it does not look new each day)."""
    if value is None or value > fetched_at + timedelta(days=1):
        return None
    return value.astimezone(UTC)


def _image(entry: Entry, body_html: str) -> str | None:
    """The feed's own picture of the entry, else the first image of its body that is not
    declared too small (an emoji, an avatar, a tracking pixel: ``parse.too_small``)."""
    return canonical_url(entry.image or _first_picture(body_html), entry.base) or None


def _first_picture(body_html: str) -> str:
    """The source of the first image of ``body_html`` not declared too small, or ""."""
    for tag in _IMG.finditer(body_html):
        match = _IMG_SRC.search(tag.group())
        if match and not too_small([int(size) for size in _IMG_SIZE.findall(tag.group())]):
            return html.unescape(match.group(1))
    return ""


def _passes_filters(item: Item, source: SourceConfig) -> bool:
    haystack = _INVISIBLE.sub("", f"{item.title}\n{item.summary}").lower()
    if source.include and not any(k.lower() in haystack for k in source.include):
        return False
    return not any(k.lower() in haystack for k in source.exclude)
