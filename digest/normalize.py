"""Turn raw feed entries into clean ``Item``s.

Canonical URLs (tracking parameters stripped, fragment dropped, host lower-cased,
relative links resolved), UTC datetimes, repaired encoding (ftfy), plain text plus an
allow-listed HTML (nh3: no script, style, iframe, event handlers, javascript:/data:).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

import ftfy
import nh3
from w3lib.url import canonicalize_url, url_query_cleaner

from .config import SourceConfig
from .models import Entry, Item

TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "vero_", "_hs")
TRACKING_NAMES = {
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid",
    "mkt_tok", "ref_src", "_ga", "_gl", "oly_anon_id", "oly_enc_id", "rb_clickid", "s_cid",
    "cmpid", "wt.mc_id", "ncid", "sr_share", "spm",
}
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "em", "figcaption", "figure", "h2", "h3",
    "h4", "hr", "i", "img", "li", "ol", "p", "pre", "q", "s", "small", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}
FTFY = ftfy.TextFixerConfig(uncurl_quotes=False, unescape_html=False)
MAX_TITLE, MAX_SUMMARY, MAX_TEXT = 300, 600, 20_000
_BLOCK_END = re.compile(r"(?i)</(p|div|li|h[1-6]|blockquote|tr|figure)>|<br\s*/?>")
_IMG_SRC = re.compile(r'<img[^>]*?\ssrc="([^"]+)"')
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“‘(])")


def normalize(entries: Sequence[Entry], source: SourceConfig, fetched_at: datetime, section: str) -> list[Item]:
    """The source's entries as ``Item``s: filtered, capped at ``max_items``, newest first."""
    items = [_item(e, source, fetched_at, section) for e in entries]
    kept = [i for i in items if i.title and _passes_filters(i, source)]
    kept.sort(key=lambda i: i.published or fetched_at, reverse=True)
    return kept[: source.max_items]


def _item(entry: Entry, source: SourceConfig, fetched_at: datetime, section: str) -> Item:
    url = canonical_url(entry.link, entry.base) or canonical_url(entry.guid, entry.base)
    body_html = sanitize_html(fix_text(entry.content))
    text = html_to_text(body_html)[:MAX_TEXT]
    summary = _truncate(html_to_text(fix_text(entry.summary)), MAX_SUMMARY) or lead_sentences(text)
    title = _truncate(" ".join(fix_text(entry.title).split()), MAX_TITLE)
    key = url or entry.guid or f"{source.name}\n{title}"
    return Item(
        id=hashlib.sha1(key.encode("utf-8")).hexdigest()[:16],
        title=title,
        url=url,
        source=source.name,
        published=_published(entry.published, fetched_at),
        summary=summary,
        text=text,
        html=body_html,
        image=_image(entry, body_html),
        author=" ".join(fix_text(entry.author).split())[:120] or None,
        guid=entry.guid or None,
        section=section,
        weight=source.weight,
    )


def canonical_url(url: str, base: str = "") -> str:
    """The canonical form of ``url``: absolute http(s), no tracking, no fragment; else ""."""
    url = (url or "").strip()
    if not url:
        return ""
    absolute = urljoin(base, url) if base else url
    parts = urlsplit(absolute)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    tracking = [k for k, _ in parse_qsl(parts.query, keep_blank_values=True) if _is_tracking(k)]
    if tracking:
        absolute = url_query_cleaner(absolute, tracking, remove=True, keep_fragments=True)
    parts = urlsplit(canonicalize_url(absolute, keep_fragments=False))
    host = parts.hostname or ""
    default_port = {"http": 80, "https": 443}[parts.scheme]
    netloc = host if parts.port in (None, default_port) else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_NAMES or lowered.startswith(TRACKING_PREFIXES)


def fix_text(text: str) -> str:
    """Repair mojibake and odd Unicode (ftfy), keeping typographic quotes."""
    return ftfy.fix_text(text or "", config=FTFY)


def sanitize_html(markup: str) -> str:
    """Allow-listed HTML: no script/style/iframe, no event handlers, only http(s)/mailto links."""
    return nh3.clean(
        markup or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def html_to_text(markup: str) -> str:
    """Plain text of ``markup``, paragraphs separated by blank lines."""
    spaced = _BLOCK_END.sub("\n\n", markup or "")
    text = html.unescape(nh3.clean(spaced, tags=set()))
    paragraphs = (" ".join(p.split()) for p in text.split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)


def lead_sentences(text: str, limit: int = 280) -> str:
    """The first sentences of ``text`` that fit in ``limit`` characters."""
    first = text.split("\n\n", 1)[0] if text else ""
    summary = ""
    for sentence in _SENTENCE_END.split(first):
        if summary and len(summary) + len(sentence) + 1 > limit:
            break
        summary = f"{summary} {sentence}".strip()
    return _truncate(summary, limit)


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:—- ") + "…"


def _published(value: datetime | None, fetched_at: datetime) -> datetime:
    """UTC publication time; missing or implausibly future dates become the fetch time."""
    if value is None or value > fetched_at + timedelta(days=1):
        return fetched_at.astimezone(UTC)
    return value.astimezone(UTC)


def _image(entry: Entry, body_html: str) -> str | None:
    candidate = entry.image
    if not candidate:
        match = _IMG_SRC.search(body_html)
        candidate = html.unescape(match.group(1)) if match else ""
    return canonical_url(candidate, entry.base) or None


def _passes_filters(item: Item, source: SourceConfig) -> bool:
    haystack = f"{item.title}\n{item.summary}".lower()
    if source.include and not any(k.lower() in haystack for k in source.include):
        return False
    return not any(k.lower() in haystack for k in source.exclude)
