"""The editor's per-issue notes for the lead story: a small Markdown file.

Format (path from ``notes:`` in sources.yaml, ``{date}`` replaced by the issue date)::

    ## What we think
    A paragraph, with **bold**, *italic* and [a link](https://example.com):
    - first point
    - second point

    ## Poll
    Do you think AI tools should be open to the public?
    - Yes
    - No

Each ``##`` (or ``#``) heading starts a block, shown under the lead story (or, in an
issue without one, on its own after the last section) in the file's order with its heading
(e.g. "What we think", "What you can do right now"). Inside a block, the Markdown an
editor writes: paragraphs, ``-``/``*``/``+`` bullets, numbered lists, ``###`` sub-headings,
``**bold**``, ``*italic*``, `` `code` `` and links, in the file's order. Raw HTML is shown as
text, and only http(s) and mailto links are links: any other is shown as its text.

Some headings are special: ``Intro`` replaces the issue's intro paragraph at the top,
and ``Poll`` is shown as a poll: its paragraph is the question, its bullets the answers
(reply links when the newsletter has a reply address). Four are directives to the
build, never shown: each of their bullets (or paragraphs) names takes by their links
(``link_groups``). Under ``Keep apart``, takes that make a story of their own, which
dedup merged with others; under ``Same story``, takes of one story that it left apart;
under ``Lead`` (or ``Lead story``), the story to lead the issue; under ``Leave out``,
stories to leave out of it. Text before the first heading is an untitled block. A
missing file, or an empty block, leaves no heading behind.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from .errors import ConfigError

log = logging.getLogger(__name__)
LINK_SCHEMES = ("http://", "https://", "mailto:")
BARE_URL = re.compile(r"https?://[^\s<>\[\]()\"']+", re.IGNORECASE)  # a link written bare, not in Markdown
# the headings of the directives: blocks that steer the build and are not shown
KEEP_APART, SAME_STORY, LEAD, LEAVE_OUT = "keep apart", "same story", "lead", "leave out"
DIRECTIVES = (KEEP_APART, SAME_STORY, LEAD, LEAVE_OUT)
ALIASES = {"lead story": LEAD}
URL_END = ".,;:!?\u201d\u2019\u00bb\u2026"  # punctuation after a bare link, not part of it
# CommonMark without raw HTML (shown as text). Off: "Text\n---" as a heading (a rule
# under a paragraph is not a block's heading) and indented code (an indented line in
# notes is a paragraph). Every link parses, so that one which may not be a link (a
# javascript: one) still shows its text rather than its Markdown.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).disable(["lheading", "code"])
_MARKDOWN.validateLink = lambda url: True
_TAGS = {"strong_open": "<strong>", "strong_close": "</strong>", "em_open": "<em>", "em_close": "</em>"}


@dataclass
class Inline:
    """A run of inline Markdown (a paragraph, a heading, a list item): its source and
    markdown-it's tokens of it, for ``inline_html`` and ``inline_text`` to render."""

    source: str
    tokens: list[Token] = field(default_factory=list)

    @classmethod
    def parse(cls, source: str) -> Inline:
        """The inline Markdown ``source`` (one line, no blocks), parsed."""
        parsed = _MARKDOWN.parseInline(source)
        return cls(source, (parsed[0].children or []) if parsed else [])

    def __str__(self) -> str:
        return self.source


@dataclass
class NotePart:
    """One piece of a block: a paragraph, a sub-heading (``###``), or a list of bullets
    or numbered items (``start``: the first number); ``items`` holds its text(s)."""

    kind: Literal["paragraph", "heading", "bullets", "numbered"]
    items: list[Inline] = field(default_factory=list)
    start: int = 1

    @property
    def text(self) -> Inline:
        """The text of a paragraph or a heading."""
        return self.items[0]


@dataclass
class NoteBlock:
    """One titled block of notes: its parts in the file's order."""

    title: str
    parts: list[NotePart] = field(default_factory=list)

    @property
    def is_poll(self) -> bool:
        """Whether the block is a poll (its heading is "Poll")."""
        return self.title.strip().lower() == "poll"

    @property
    def heading(self) -> str:
        """The title as headings are compared: lower-case words, no punctuation
        ("Keep apart:", "KEEP-APART" and "Keep  apart" are "keep apart")."""
        return heading_key(self.title)

    @property
    def is_directive(self) -> bool:
        """Whether the block steers the build, not for readers ("Keep apart", "Lead"...)."""
        return self.heading in DIRECTIVES

    @property
    def paragraphs(self) -> list[Inline]:
        """The paragraphs and sub-headings (a poll's question)."""
        return [part.text for part in self.parts if part.kind in ("paragraph", "heading")]

    @property
    def bullets(self) -> list[Inline]:
        """The items of every list (a poll's answers)."""
        return [item for part in self.parts if part.kind in ("bullets", "numbered") for item in part.items]

    @property
    def lines(self) -> list[Inline]:
        """Every paragraph, sub-heading and list item, in the file's order (the intro)."""
        return [item for part in self.parts for item in part.items]


Notes = list[NoteBlock]


def load_notes(path: Path) -> Notes:
    """Blocks of the notes file at ``path``; an empty list if there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the notes file: {exc}") from None
    return parse_notes(text)


def heading_key(title: str) -> str:
    """``title`` as headings are compared: its lower-case words, single spaces (a
    directive's other name as the directive)."""
    key = " ".join(re.findall(r"[^\W_]+", title.lower()))
    return ALIASES.get(key, key)


def _near_miss(text: str) -> bool:
    """Whether ``text`` looks like the heading of a directive, but is not one: its
    block would be shown to every reader."""
    key = heading_key(text)
    if key in DIRECTIVES or len(key.split()) > 5:  # a sentence that uses the words
        return False
    return bool(re.search(r"\bkeep apart|\bsame stor|\bleav(?:e|ing) out|^(?:the )?leads?\b", key))


def link_groups(notes: Notes, heading: str) -> list[list[str]]:
    """The links of each bullet or paragraph of the directives ``heading`` (one of
    ``DIRECTIVES``), in order. Links may be Markdown links, ``<autolinks>`` or written
    bare; a line without one (or, under ``Same story``, with one only) is skipped, with a
    warning."""
    groups = []
    least = 2 if heading == SAME_STORY else 1
    for block in notes:
        if block.heading != heading:
            continue
        for line in _link_lines(block, split=heading != SAME_STORY):
            urls, in_link = [], False
            for token in line.tokens:
                if token.type in ("link_open", "link_close"):
                    in_link = token.type == "link_open"
                    urls += [str(token.attrs.get("href", ""))] if in_link else []
                elif token.type == "text" and not in_link:  # a link's own text is no second link
                    urls += [url.rstrip(URL_END) for url in BARE_URL.findall(token.content)]
            urls = list(dict.fromkeys(urls))
            if len(urls) >= least:
                groups.append(urls)
            else:
                why = "names no link" if not urls else "names one link only, and joins nothing"
                log.warning("a line under '%s' in the notes %s: %.80s", block.heading.capitalize(), why, line)
    return groups


def _link_lines(block: NoteBlock, split: bool) -> list[Inline]:
    """The block's lines as ``link_groups`` reads them: each list item whole; a
    paragraph whole, or (``split``: under every directive but ``Same story``) one line
    of it at a time, so that links written one a line, without bullets, count apart."""
    lines: list[Inline] = []
    for part in block.parts:
        if not split or part.kind in ("bullets", "numbered"):
            lines += part.items
            continue
        for inline in part.items:
            current: list[Token] = []
            for token in [*inline.tokens, Token("softbreak", "br", 0)]:
                if token.type != "softbreak":
                    current.append(token)
                elif current:
                    source = "".join(t.content for t in current)
                    lines.append(Inline(source, current))
                    current = []
    return lines


def parse_notes(text: str) -> Notes:
    """Parse the notes Markdown into blocks, dropping empty ones.

    A ``#`` or ``##`` heading starts a block, and so does a directive's heading at any
    level. A directive under a ``###`` heading ends at the next heading: a ``###``
    after it goes on with the block the directive interrupted."""
    current = NoteBlock("")
    blocks, interrupted = [current], None  # interrupted: the block a ### directive stepped out of
    items: list[int | None] = []  # per open list item: its index in the outermost list
    tokens = _MARKDOWN.parse(text)
    for at, token in enumerate(tokens):
        parts = current.parts
        if token.type in ("bullet_list_open", "ordered_list_open") and not items:
            kind = "numbered" if token.type == "ordered_list_open" else "bullets"
            parts.append(NotePart(kind, start=int(token.attrs.get("start", 1))))
        elif token.type == "list_item_open":
            items.append(None)
        elif token.type == "list_item_close":
            items.pop()
        elif token.type in ("inline", "fence"):
            inline = _inline(token)
            opener = tokens[at - 1] if at else token
            title = inline_text(inline) if opener.type == "heading_open" else ""
            special = heading_key(title) in DIRECTIVES  # at any level: never shown
            heading = not items and opener.type == "heading_open"
            if heading and (opener.tag in ("h1", "h2") or special):
                major = opener.tag in ("h1", "h2")
                interrupted = None if major else (interrupted or current)
                current = NoteBlock(title)
                blocks.append(current)
            elif heading and interrupted:
                current, interrupted = interrupted, None
                current.parts.append(NotePart("heading", [inline]))
            elif items:
                _add_to_item(parts[-1], items, inline)
            elif inline.tokens:
                parts.append(NotePart("heading" if opener.type == "heading_open" else "paragraph", [inline]))
    for block in blocks:
        block.parts = [part for part in block.parts if part.items]
        if block.parts:
            _warn_if_meant_as_directive(block)
    return [block for block in blocks if block.parts]


def _warn_if_meant_as_directive(block: NoteBlock) -> None:
    """Warn when a block that readers will see looks meant as a directive: a heading
    near one ("Keep apart (dedup)", "Same stories"), or a directive's heading written
    as a paragraph rather than a heading."""
    lines = [inline_text(p.text) for p in block.parts if p.kind in ("paragraph", "heading")]
    for text in [block.title, *lines]:
        if _near_miss(text) or (text != block.title and heading_key(text) in DIRECTIVES):
            why = "only the headings Keep apart, Same story, Lead and Leave out are hidden"
            log.warning("'%.60s' in the notes is shown to readers: %s", text, why)


def _inline(token: Token) -> Inline:
    """The ``Inline`` of an inline token; a fenced code block's as one piece of code."""
    if token.type == "fence":
        code = token.content.strip("\n")
        return Inline(code, [Token("code_inline", "code", 0, content=code)] if code.strip() else [])
    inline = Inline(token.content, token.children or [])
    for child in inline.tokens:
        href = str(child.attrs.get("href", "")) if child.type == "link_open" else ""
        if href and not href.lower().startswith(LINK_SCHEMES):
            log.warning("a link in the notes that is not http(s) or mailto is shown as text: %.80s", href)
    return inline


def _add_to_item(part: NotePart, items: list[int | None], inline: Inline) -> None:
    """Add ``inline`` to the list item open last: it starts the item, or is its next
    paragraph (after a line break). A nested list's items join the outermost list."""
    if not inline.tokens:
        return
    if items[-1] is None:
        items[-1] = len(part.items)
        part.items.append(inline)
        return
    item = part.items[items[-1]]
    part.items[items[-1]] = Inline(
        f"{item.source}\\\n{inline.source}", [*item.tokens, Token("hardbreak", "br", 0), *inline.tokens]
    )


def inline_html(inline: Inline | str, link: Callable[[str], str] = str) -> str:
    """``inline`` as email-safe HTML: strong, em, code, line breaks and links, whose URL
    goes through ``link`` (tracking); a URL that is not http(s) or mailto is shown as its
    text. Escaped as it is built, then allow-list sanitized (nh3) all the same."""
    out: list[str] = []
    links: list[tuple[str, int]] = []  # per link open: its URL ("" if only its text shows), its start
    for token in _tokens(inline):
        if token.type in _TAGS:
            out.append(_TAGS[token.type])
        elif token.type == "link_open":
            href = str(token.attrs.get("href", ""))
            href = href if href.lower().startswith(LINK_SCHEMES) else ""
            links.append((href, len(out)))
            out.append(f'<a href="{html.escape(link(href))}">' if href else "")
        elif token.type == "link_close" and links:
            href, start = links.pop()
            if href and len(out) == start + 1:  # a link without text shows its URL
                out.append(html.escape(href.removeprefix("mailto:")))
            out.append("</a>" if href else "")
        elif token.type == "code_inline":
            out.append(f"<code>{html.escape(token.content)}</code>")
        elif token.type == "hardbreak":
            out.append("<br>")
        else:
            out.append(html.escape(_text_of(token)))
    return nh3.clean(
        "".join(out),
        tags={"a", "strong", "em", "code", "br"},
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
    )


def inline_text(
    inline: Inline | str, link: Callable[[str], str] = str, ref: Callable[[str], str] | None = None
) -> str:
    """``inline`` as plain text: no markup; a link is its text, followed by ``ref`` of
    its URL (``[n]`` in the plaintext issue) when ``ref`` is given and it may be a link."""
    out: list[str] = []
    links: list[tuple[str, int]] = []  # per link open: its URL, and where its text starts
    for token in _tokens(inline):
        if token.type == "link_open":
            links.append((str(token.attrs.get("href", "")), len(out)))
        elif token.type == "link_close" and links:
            href, start = links.pop()
            if ref and href.lower().startswith(LINK_SCHEMES):
                text = "".join(out[start:]).strip() or href.removeprefix("mailto:")
                out[start:] = [f"{text} {ref(link(href))}"]
        elif token.type not in _TAGS:
            out.append(_text_of(token))
    return "".join(out)


def _tokens(inline: Inline | str) -> list[Token]:
    return (inline if isinstance(inline, Inline) else Inline.parse(str(inline or ""))).tokens


def _text_of(token: Token) -> str:
    """What a token shows as text: its content; a line break a space; an image its alt."""
    if token.type in ("softbreak", "hardbreak"):
        return " "
    if token.type == "image":
        return "".join(child.content for child in token.children or [])
    return token.content
