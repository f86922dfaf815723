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
import html
import json
import re
from datetime import UTC, datetime
from typing import Any

import feedparser
import nh3
from feedparser.encodings import convert_to_utf8

from .errors import ParseError
from .models import Entry

MAX_ENTRIES = 2_000
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.I)
_HTML_PAGE = re.compile(rb"<html[\s>]", re.I)
# Inside a DOCTYPE: quoted strings and comments are skipped whole; brackets nest.
_DTD_TOKEN = re.compile(rb"\"[^\"]*\"|'[^']*'|<!--.*?-->|[\[\]>]", re.S)


def parse_feed(body: bytes, source: str, url: str) -> list[Entry]:
    """Entries of the feed in ``body`` (fetched from ``url``) for ``source``."""
    if body.lstrip()[:1] in (b"{", b"["):
        return _parse_json_feed(body, source, url)
    remote = url.lower().startswith(("http://", "https://"))
    headers = {"content-location": url} if remote else {}
    parsed = feedparser.parse(
        _without_doctype(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    if not parsed.entries:
        if _HTML_PAGE.search(body[:4096]):
            raise ParseError("not a readable RSS, Atom or JSON feed: a web page (give the feed's address)")
        reason = parsed.get("bozo_exception")
        detail = f": {reason}" if reason else ""
        raise ParseError(f"not a readable RSS, Atom or JSON feed{detail}")
    # A local file has no web address: relative links resolve against the feed's own link.
    base = url if remote else parsed.feed.get("link", "")
    declared = parsed.get("version", "").startswith("atom")
    return [_from_feedparser(e, source, base, declared) for e in parsed.entries[:MAX_ENTRIES]]


def _without_doctype(body: bytes) -> bytes:
    """``body`` as UTF-8 with every DOCTYPE cut out, so no declared entity can expand.

    feedparser itself keeps "safe" internal entities, and a 100 KB one referenced a
    thousand times is 100 MB (a quadratic blow-up). The body is converted to UTF-8
    first (as feedparser would) so that a UTF-16 or EBCDIC DOCTYPE is found as well.
    """
    data = convert_to_utf8({}, body, {})
    pieces, position = [], 0
    while match := _DOCTYPE.search(data, position):
        pieces.append(data[position : match.start()])
        position = len(data)
        depth = 0
        for token in _DTD_TOKEN.finditer(data, match.end()):
            depth += {b"[": 1, b"]": -1}.get(token.group(), 0)
            if token.group() == b">" and depth <= 0:
                position = token.end()
                break
    pieces.append(data[position:])
    return b"".join(pieces)


def _from_feedparser(entry: Any, source: str, base: str, declared: bool) -> Entry:
    content = entry.get("content") or []
    html = max((c.get("value", "") for c in content), key=len, default="")
    summary = entry.get("summary", "")
    return Entry(
        source=source,
        base=base,
        title=_plain_title(entry, declared),
        link=entry.get("link", ""),
        guid=entry.get("id", ""),
        published=_struct_time(entry.get("published_parsed") or entry.get("updated_parsed")),
        summary=summary if html else (summary if len(summary) < 600 else ""),
        content=html or summary,
        image=_feedparser_image(entry),
        author=entry.get("author", ""),
    )


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


def _struct_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _feedparser_image(entry: Any) -> str:
    """media:content / media:thumbnail / an image enclosure, in that order."""
    for media in entry.get("media_content", []):
        if media.get("medium") == "image" or media.get("type", "").startswith("image/"):
            return media.get("url", "")
    for thumb in entry.get("media_thumbnail", []):
        if thumb.get("url"):
            return thumb["url"]
    for link in entry.get("links", []):
        if link.get("rel") == "enclosure" and link.get("type", "").startswith("image/"):
            return link.get("href", "")
    return ""


def _parse_json_feed(body: bytes, source: str, url: str) -> list[Entry]:
    try:
        feed = json.loads(body.decode("utf-8-sig", errors="replace"))
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON (line {exc.lineno}): {exc.msg}") from None
    if not isinstance(feed, dict) or "jsonfeed.org" not in str(feed.get("version", "")):
        raise ParseError("JSON, but not a JSON Feed (no 'version' naming jsonfeed.org)")
    items = feed.get("items")
    if not isinstance(items, list):
        raise ParseError("JSON Feed without an 'items' list")
    remote = url.lower().startswith(("http://", "https://"))
    base = url if remote else str(feed.get("home_page_url") or "")
    return [_from_json_item(i, source, base) for i in items[:MAX_ENTRIES] if isinstance(i, dict)]


def _from_json_item(item: dict[str, Any], source: str, base: str) -> Entry:
    authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
    author = next((str(a.get("name", "")) for a in authors if isinstance(a, dict)), "")
    html = item.get("content_html") or ""
    text = item.get("content_text") or ""
    return Entry(
        source=source,
        base=base,
        title=str(item.get("title") or ""),
        link=str(item.get("url") or item.get("external_url") or ""),
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
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _escape(text: str) -> str:
    """Plain text as HTML paragraphs."""
    return "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip())
