"""Parse feed bytes into raw entries: RSS 0.9x/1.0/2.0 and Atom (feedparser), JSON Feed.

Feed quirks stay in this module. A malformed feed keeps whatever entries could be
recovered; a body with none at all raises ``ParseError`` with the reason. The DOCTYPE
is cut out before feedparser sees the body, so no entity declared in (or outside) the
document is expanded: an entity bomb or an external entity costs nothing and reads
nothing. feedparser neither sanitizes nor rewrites markup here: ``normalize`` does that
once, with nh3, so titles are unescaped exactly once and parsing stays fast.
"""

from __future__ import annotations

import calendar
import codecs
import html
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urljoin
from xml.parsers import expat

import feedparser
import nh3
from feedparser.encodings import convert_to_utf8

from .errors import ParseError
from .models import Entry

MAX_ENTRIES = 2_000
MIN_IMAGE = 100  # pixels: an image declared smaller is an icon, an avatar or a tracking pixel
LENIENT_BYTES = 1_000_000  # the most of a malformed feed read (see ``read_feed``)
# the most tags read of any feed: feedparser spends 10-40 µs of Python on each element, so
# 10 MB of "<a/>" (well-formed, and 10 KB gzipped) would hold the build 40 s. A feed's own
# markup is a few dozen tags an entry (2,000 entries: 50,000); the HTML of its posts is
# escaped or in CDATA, text to the parser, and not counted
MAX_TAGS = 100_000
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.I)
_HTML_PAGE = re.compile(rb"<html[\s>]", re.I)
# Inside a DOCTYPE: quoted strings and comments are skipped whole; brackets nest.
_DTD_MARK = re.compile(rb"[\"'\[\]>]|<!--")
_DTD_CLOSING = {b'"': b'"', b"'": b"'", b"<!--": b"-->"}
_FIRST_WORD_TAG = re.compile(rb"<\w")  # where feedparser's search for a DOCTYPE and entities ends
_NAME_START = re.compile(rb"[A-Za-z_:\x80-\xff]")  # what may start an element's name (UTF-8)
_ABSOLUTE_WEB = re.compile(r"\s*https?://", re.I)
_CHARACTER_REFERENCE = re.compile(rb"&#([xX][0-9a-fA-F]{1,16}|[0-9]{1,20});")


@dataclass
class Parsed:
    """A feed's entries, and how much of a malformed feed was left unread."""

    entries: list[Entry]
    unread: int = 0  # bytes past ``LENIENT_BYTES`` of malformed XML, or past ``MAX_TAGS`` tags
    size: int = 0  # the feed's size in bytes (as UTF-8)
    cut_short: bool = False  # the XML ends before its root element closes (see ``_ends_early``)
    over_tags: bool = False  # read only up to its last entry within ``MAX_TAGS`` tags

    @property
    def warning(self) -> str:
        """What the build should say of a feed read only in part, or ""."""
        if self.unread and self.over_tags:
            return (
                f"over {MAX_TAGS:,} XML tags: read up to its last entry within them, "
                f"{self.unread:,} of its {self.size:,} bytes left unread"
            )
        if self.unread:
            return (
                f"not well-formed XML: read leniently up to its last entry in the first "
                f"{LENIENT_BYTES / 1e6:g} MB, {self.unread:,} of its {self.size:,} bytes left unread"
            )
        if self.cut_short:
            return (
                "the XML stops before its end (cut short in transfer, or read while being written?): "
                f"read only up to the cut, {len(self.entries)} entries"
            )
        return ""


def parse_feed(body: bytes, source: str, url: str) -> list[Entry]:
    """Entries of the feed in ``body`` (fetched from ``url``) for ``source``."""
    return read_feed(body, source, url).entries


def read_feed(body: bytes, source: str, url: str) -> Parsed:
    """``parse_feed``, saying how much of a malformed feed was not read.

    Well-formed XML is parsed whole (feedparser's strict parser, about 0.1 µs a byte of
    text, but 10-40 µs a tag). A feed that is not goes to feedparser's lenient parser,
    which takes up to 6 µs a byte on hostile markup (a million unclosed tags): 10 MB would
    hold the build a minute. So only its first ``LENIENT_BYTES`` are read, and of any feed
    its first ``MAX_TAGS`` tags, cut after the last entry that ends in them: feeds list
    their newest entries first."""
    if not _start(body):
        raise ParseError("an empty response: no feed in it")
    if is_json(body):
        return Parsed(_parse_json_feed(body, source, url), size=len(body))
    data = _without_doctype(body)
    size, unread = len(data), 0
    limit = LENIENT_BYTES if size > LENIENT_BYTES and not _well_formed(data) else size
    tags_end = _tags_end(data[:limit])
    over_tags = tags_end < limit == size  # a malformed feed past LENIENT_BYTES says that first
    if tags_end < size:
        data = _cut_after_last_entry(data[:tags_end])
        unread = size - len(data)
    # No base for feedparser: links come out as the feed wrote them ("<guid>post-2</guid>"
    # must not become an address) and ``normalize`` resolves them against ``Entry.base``.
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    if not parsed.entries:
        if parsed.get("version") and not parsed.get("bozo"):
            return Parsed([], size=size)  # a well-formed feed with nothing in it yet: working, just empty
        if _HTML_PAGE.search(body[:4096]):
            raise ParseError("not a readable RSS, Atom or JSON feed: a web page (give the feed's address)")
        reason = parsed.get("bozo_exception")
        detail = f": {reason}" if reason else ""
        raise ParseError(f"not a readable RSS, Atom or JSON feed{detail}")
    # A local file has no web address: relative links resolve against the feed's own link.
    remote = url.lower().startswith(("http://", "https://"))
    base = url if remote else parsed.feed.get("link", "")
    declared = parsed.get("version", "").startswith("atom")
    entries = [_from_feedparser(e, source, base, declared) for e in parsed.entries[:MAX_ENTRIES]]
    cut_short = not unread and bool(parsed.get("bozo")) and _ends_early(data)
    return Parsed(entries, unread, size, cut_short, over_tags)


def _tags_end(data: bytes) -> int:
    """Where the tag past the first ``MAX_TAGS`` starts, or ``len(data)``. Markup in CDATA
    is text to the parser, and skipped (each search runs in C: milliseconds a megabyte)."""
    if data.count(b"<") <= MAX_TAGS:
        return len(data)
    seen, at = 0, data.find(b"<")
    while at != -1:
        if data.startswith(b"<![CDATA[", at):
            end = data.find(b"]]>", at)
            if end == -1:
                break  # the rest is text
            at = data.find(b"<", end + 3)
            continue
        seen += 1
        if seen > MAX_TAGS:
            return at
        at = data.find(b"<", at + 1)
    return len(data)


def _well_formed(data: bytes) -> bool:
    """Whether ``data`` is well-formed XML (expat, in C: milliseconds for megabytes). Its
    DOCTYPE is already cut, so no entity is declared, and none expands."""
    parser = expat.ParserCreate()
    try:
        parser.Parse(data, True)
    except expat.ExpatError:
        return False
    return True


_ROOT_NAME = re.compile(rb"<([^\s/>]+)")
_TAG_CLOSE = re.compile(rb"\s*>")


def _ends_early(data: bytes) -> bool:
    """Whether ``data`` is XML cut off before its end (a file read while being written, a
    body cut in transfer): its root element's end tag is nowhere after its start. The
    lenient parser reads the entries before the cut without a word, so the feed would look
    as if it had only those. A bare ``&`` inside says nothing, nor do comments or a stray
    line after the end (a cache's "served in 0.2 s", a PHP notice): the feed is whole."""
    start = _root_start(data)
    root = _ROOT_NAME.match(data, start)
    if root is None:
        return False  # no element at all: the parser finds no entry, and says so
    end_tag = b"</" + root[1]
    at = data.rfind(end_tag, start)
    return at < 0 or _TAG_CLOSE.match(data, at + len(end_tag)) is None


def _cut_after_last_entry(data: bytes) -> bytes:
    """``data`` up to the end of its last complete RSS item or Atom entry (all of it if none ends)."""
    ends = [data.rfind(tag) + len(tag) for tag in (b"</item>", b"</entry>") if tag in data]
    return data[: max(ends)] if ends else data


def _detail_base(entry: Any, base: str) -> str:
    """The address the entry's markup resolves against: its own ``xml:base`` (feedparser
    records it per element), itself resolved against the feed's, over the feed's."""
    for detail in [*(entry.get("content") or []), entry.get("summary_detail") or {}]:
        if detail.get("base"):
            try:
                return urljoin(base, detail["base"])
            except ValueError:
                return base
    return base


def is_json(body: bytes) -> bool:
    """Whether ``body`` is JSON (a JSON Feed) rather than XML: it opens with { or [."""
    return _start(body) in (b"{", b"[")


def _start(body: bytes) -> bytes:
    """The first byte of ``body`` past a UTF-8 byte order mark and whitespace."""
    return body.removeprefix(codecs.BOM_UTF8).lstrip()[:1]


def _without_doctype(body: bytes) -> bytes:
    """``body`` as UTF-8 with the DOCTYPEs of its prolog cut out, so no declared entity
    can expand, and character references to what is not a character made U+FFFD.

    feedparser itself keeps "safe" internal entities, and a 100 KB one referenced a
    thousand times is 100 MB (a quadratic blow-up). The body is converted to UTF-8
    first (as feedparser would) so that a UTF-16 or EBCDIC DOCTYPE is found as well.
    Every DOCTYPE before the root element is cut, even one inside a comment, and up to
    the first ``<`` and word character too, where feedparser's own look for entities
    ends; one later on is text ("<![CDATA[The <!DOCTYPE line…]]>") and stays.
    """
    data = convert_to_utf8({}, body, {})
    first_word = _FIRST_WORD_TAG.search(data)
    head = max(_root_start(data), first_word.start() if first_word else len(data))
    pieces, position = [], 0
    while match := _DOCTYPE.search(data, position, head):
        pieces.append(data[position : match.start()])
        position = _doctype_end(data, match.end(), head)
    pieces.append(data[position:])
    return _CHARACTER_REFERENCE.sub(_valid_reference, b"".join(pieces))


def _root_start(data: bytes) -> int:
    """Where the root element starts: the first tag outside comments, processing
    instructions and DOCTYPEs (``len(data)`` if there is none)."""
    position = 0
    while (lt := data.find(b"<", position)) >= 0:
        for opening, closing in ((b"<?", b"?>"), (b"<!--", b"-->")):
            if data.startswith(opening, lt):
                end = data.find(closing, lt + len(opening))
                if end < 0:
                    return len(data)
                position = end + len(closing)
                break
        else:
            if _DOCTYPE.match(data, lt):
                position = _doctype_end(data, lt + len(b"<!DOCTYPE"), len(data))
            elif _NAME_START.match(data, lt + 1):
                return lt
            else:
                position = lt + 1
    return len(data)


def _doctype_end(data: bytes, position: int, stop: int) -> int:
    """Where the DOCTYPE whose name starts at ``position`` ends (``stop`` if not before).

    Each string or comment is skipped with one search for its end, so a DOCTYPE of a
    million unclosed comments costs one pass, not a million."""
    depth = 0
    while mark := _DTD_MARK.search(data, position, stop):
        token, position = mark.group(), mark.end()
        if token in _DTD_CLOSING:
            end = data.find(_DTD_CLOSING[token], position, stop)
            if end < 0:
                return stop
            position = end + len(_DTD_CLOSING[token])
        elif token == b">" and depth <= 0:
            return position
        else:
            depth += {b"[": 1, b"]": -1}.get(token, 0)
    return stop


def _valid_reference(match: re.Match[bytes]) -> bytes:
    """A character reference as it is if XML allows its character, else U+FFFD's:
    feedparser's fallback parser fails on a surrogate or a number past U+10FFFF."""
    digits = match.group(1)
    code = int(digits[1:], 16) if digits[:1] in (b"x", b"X") else int(digits)
    allowed = code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0x10FFFF
    return match.group(0) if allowed and code not in (0xFFFE, 0xFFFF) else b"&#xFFFD;"


def _from_feedparser(entry: Any, source: str, base: str, declared: bool) -> Entry:
    content = entry.get("content") or []
    html = max((c.get("value", "") for c in content), key=len, default="")
    summary = entry.get("summary", "")
    if any(summary == c.get("value") for c in content):
        summary = ""  # feedparser copies the content of an entry without a summary into it
    publisher = _publisher(entry)
    link = entry.get("link", "")
    if entry.get("guidislink") and not _ABSOLUTE_WEB.match(link):
        link = ""  # an RSS guid taken for the link ("<guid>post-17</guid>") is no address
    if not link:  # a podcast episode with only its audio: the enclosure is where it is
        media = [x for x in entry.get("links", []) if x.get("rel") == "enclosure"]
        link = next((x["href"] for x in media if x.get("href") and _playable(x)), "")
    return Entry(
        source=source,
        base=_detail_base(entry, base),
        title=_without_publisher(_plain_title(entry, declared), publisher),
        publisher=publisher,
        link=link,
        guid=entry.get("id", ""),
        published=_entry_date(entry),
        summary=summary if html else (summary if len(summary) < 600 else ""),
        content=html or summary,
        image=_feedparser_image(entry),
        author=entry.get("author", ""),
        discussion=_discussion(entry),
    )


def _discussion(entry: Any) -> str:
    """Where readers discuss the entry: RSS ``<comments>``, else an Atom link to its
    replies as a page (RFC 4685; not a feed of them)."""
    comments = entry.get("comments")
    if isinstance(comments, str) and comments:
        return comments
    replies = (
        link.get("href", "")
        for link in entry.get("links", [])
        if link.get("rel") == "replies" and link.get("type", "text/html") in ("text/html", "")
    )
    return next((href for href in replies if isinstance(href, str) and href), "")


def _plain_title(entry: Any, declared: bool) -> str:
    """The title as plain text, unescaped exactly once.

    Atom says when a title is HTML (``type="html"``): then tags go and entities are
    decoded. RSS never says; feedparser guesses HTML when it sees an entity or a closing
    tag, but the XML parser already unescaped the text once, so only the tags go
    ("AT&amp;amp;T" in the XML is the title "AT&amp;T").
    """
    title = entry.get("title", "")
    if entry.get("title_detail", {}).get("type") in ("text/html", "application/xhtml+xml"):
        title = html.unescape(nh3.clean(title, tags=set())) if declared else re.sub(r"<[^>]*>", "", title)
    return title


def _without_publisher(title: str, publisher: str) -> str:
    """``title`` without the " - Publisher" that news aggregators (Google News, Bing News)
    append to each headline, when the item's RSS ``<source>`` names that ``publisher``:
    the headline then reads as the outlet's own, and meets the outlet's own item in dedup."""
    for dash in (" - ", " – ", " — ", " | "):
        if publisher and title.endswith(dash + publisher) and len(title) > len(dash + publisher):
            return title[: -len(dash + publisher)].rstrip()
    return title


def _publisher(entry: Any) -> str:
    """The outlet an aggregator's item comes from: the title of its RSS ``<source>``."""
    source = entry.get("source")
    return " ".join(str(source.get("title") or "").split())[:120] if isinstance(source, dict) else ""


# Month names (their first four letters, then three, without accents) in the languages
# whose sites most often write RFC 822 dates in their own words: a CMS that formats them
# with the server's locale ("Sa, 14 Jun 2025 08:00:00 +0200", "mer., 15 janv. 2025",
# "lun, 06 oct 2025"; German, French, Spanish, Italian, Dutch, Portuguese). feedparser
# knows English names only, and such an item would be dated by when it was first seen.
_MONTHS = {
    **dict.fromkeys(("jan", "janv", "ene", "gen"), 1),
    **dict.fromkeys(("feb", "fev", "fevr"), 2),
    **dict.fromkeys(("mar", "mrz", "mrt", "maa"), 3),
    **dict.fromkeys(("apr", "avr", "abr"), 4),
    **dict.fromkeys(("may", "mai", "mag", "mei"), 5),
    **dict.fromkeys(("jun", "juin", "giu"), 6),
    **dict.fromkeys(("jul", "juil", "lug"), 7),
    **dict.fromkeys(("aug", "aou", "ago"), 8),
    **dict.fromkeys(("sep", "set"), 9),
    **dict.fromkeys(("oct", "okt", "ott", "out"), 10),
    **dict.fromkeys(("nov",), 11),
    **dict.fromkeys(("dec", "dez", "dic"), 12),
}
# Zone abbreviations feedparser does not know and would read as UTC ("08:00:00 CEST").
_ZONES = {"cet": 1, "mez": 1, "cest": 2, "mesz": 2, "wet": 0, "wez": 0, "west": 1, "wesz": 1}
_ZONES |= {"eet": 2, "oez": 2, "eest": 3, "oesz": 3, "msk": 3, "jst": 9, "kst": 9}
_RFC822_LIKE = re.compile(
    r"^\s*(?:[^\W\d_]+\.?,?\s+)?(?P<day>\d{1,2})\.?\s+(?P<month>[^\W\d_]+)\.?,?\s+(?P<year>\d{4}),?"
    r"\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"(?:\s*(?:(?P<offset>[+-]\d{2}:?\d{2})|(?P<zone>[a-z]{1,5})))?\s*$",
    re.I,
)


def _entry_date(entry: Any) -> datetime | None:
    """When the entry was published (else updated), in UTC; None if the feed does not say."""
    for key in ("published", "updated"):
        # the entry's own keys: feedparser's ``get`` maps a missing one to the other, with a warning
        text = dict.get(entry, key) or ""
        own = _localized_date(text) if isinstance(text, str) else None
        when = own or _struct_time(dict.get(entry, f"{key}_parsed"))
        if when:
            return when
    return None


def _localized_date(text: str) -> datetime | None:
    """An RFC 822 date, in UTC, whose names may be in one of ``_MONTHS``' languages (the
    weekday is not read) and whose zone may be one of ``_ZONES``; None for any other text
    (feedparser reads those: ISO 8601, W3C, zones such as EST)."""
    match = _RFC822_LIKE.match(text)
    if not match:
        return None
    name = "".join(c for c in unicodedata.normalize("NFKD", match["month"].lower()) if c.isascii())
    month = _MONTHS.get(name[:4]) or _MONTHS.get(name[:3])
    zone = (match["zone"] or "").lower()
    if not month:
        return None
    if match["offset"]:
        sign = -1 if match["offset"][0] == "-" else 1
        digits = match["offset"][1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    elif zone in _ZONES:
        offset = timedelta(hours=_ZONES[zone])
    elif zone in ("", "z", "ut", "utc", "gmt"):
        offset = timedelta(0)
    else:
        return None
    try:
        local = datetime(
            int(match["year"]),
            month,
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"] or 0),
            tzinfo=timezone(offset),
        )
    except ValueError:  # a 31st of June, an hour 25
        return None
    return local.astimezone(UTC)


def _struct_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _feedparser_image(entry: Any) -> str:
    """media:content / media:thumbnail / an image enclosure / the episode's itunes:image,
    in that order; not one declared smaller than ``MIN_IMAGE`` pixels (an author's avatar:
    GitHub's release feeds give each release its author's 30 px one as media:thumbnail)."""
    for media in entry.get("media_content", []):
        if media.get("medium") == "image" or media.get("type", "").startswith("image/"):
            if media.get("url") and not _icon(media):
                return media["url"]
    for thumb in entry.get("media_thumbnail", []):
        if thumb.get("url") and not _icon(thumb):
            return thumb["url"]
    for link in entry.get("links", []):
        if link.get("rel") == "enclosure" and link.get("type", "").startswith("image/"):
            return link.get("href", "")
    image = entry.get("image")  # itunes:image of a podcast episode
    return str(image.get("href") or "") if isinstance(image, dict) else ""


def _playable(enclosure: dict[str, Any]) -> bool:
    return str(enclosure.get("type", "")).startswith(("audio/", "video/"))


def _icon(media: dict[str, Any]) -> bool:
    """Whether ``media`` declares a size too small for a story's picture."""
    sizes = [str(media.get(key, "")).strip() for key in ("width", "height")]
    return too_small([int(size) for size in sizes if size.isdigit()])


def too_small(sizes: list[int]) -> bool:
    """Whether an image of these declared sizes (pixels; none known: not small) is an
    icon, an avatar or a tracking pixel rather than a story's picture."""
    return bool(sizes) and min(sizes) < MIN_IMAGE


def _parse_json_feed(body: bytes, source: str, url: str) -> list[Entry]:
    try:
        feed = json.loads(body.decode("utf-8-sig", errors="replace"))
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON (line {exc.lineno}): {exc.msg}") from None
    except RecursionError:
        raise ParseError("JSON nested too deep to be a feed") from None
    except ValueError:  # Python's own limit, not the feed's mistake: say nothing of Python's settings
        raise ParseError("not valid JSON for a feed: a number of more than 4,300 digits") from None
    if not isinstance(feed, dict) or "jsonfeed.org" not in str(feed.get("version", "")):
        raise ParseError("JSON, but not a JSON Feed (no 'version' naming jsonfeed.org)")
    items = feed.get("items")
    if not isinstance(items, list):
        raise ParseError("JSON Feed without an 'items' list")
    remote = url.lower().startswith(("http://", "https://"))
    base = url if remote else str(feed.get("home_page_url") or "")
    return [_from_json_item(i, source, base) for i in items[:MAX_ENTRIES] if isinstance(i, dict)]


def _from_json_item(item: dict[str, Any], source: str, base: str) -> Entry:
    authors = item.get("authors") or [item.get("author")]
    if not isinstance(authors, list):
        authors = [authors]
    author = next((str(a.get("name") or "") for a in authors if isinstance(a, dict)), "")
    html = item.get("content_html") or ""
    text = item.get("content_text") or ""
    return Entry(
        source=source,
        base=base,
        title=str(item.get("title") or ""),
        link=next((item[k] for k in ("url", "external_url") if isinstance(item.get(k), str) and item[k]), ""),
        guid=str(item.get("id") or ""),
        published=_iso_date(item.get("date_published") or item.get("date_modified")),
        summary=str(item.get("summary") or ""),
        content=str(html) if html else _escape(str(text)),
        image=str(item.get("image") or item.get("banner_image") or ""),
        author=author,
    )


def _iso_date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):  # "0001-01-01T00:00:00+05:00" is before year 1 in UTC
        return None


def _escape(text: str) -> str:
    """Plain text as HTML paragraphs."""
    return "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip())
