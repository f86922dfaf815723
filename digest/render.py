"""Render an ``Issue``: Jinja2 -> MJML -> HTML (mjml-python), theme CSS inlined, plaintext.

Templates come from the newsletter's own ``templates:`` folder first, then the built-in
theme, file by file. Undefined variables and broken MJML fail the build with the
template's file and line: a template mistake never silently renders blanks.
"""

from __future__ import annotations

import difflib
import logging
import re
import textwrap
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from datetime import date as Date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import jinja2
import jinja2.meta
from markupsafe import Markup, escape
from mjml import mjml2html
from premailer import Premailer

from . import sentences
from .config import Config, Sponsor
from .contrast import low_contrast
from .errors import TemplateError
from .models import FIELD_FALLBACK, FIELD_NAME, Issue
from .notes import Inline, NoteBlock, Notes, inline_html, inline_text
from .sentences import shorten

log = logging.getLogger(__name__)
GMAIL_CLIP_BYTES = 102 * 1024
# MJML elements that take no closing tag (written <mj-image ...> as often as <mj-image .../>)
_MJ_EMPTY = frozenset(
    {"mj-image", "mj-divider", "mj-spacer", "mj-breakpoint", "mj-font", "mj-all", "mj-class"}
)
# Filled per recipient at send time; the web version gets the newsletter's own links.
UNSUBSCRIBE = "%%UNSUBSCRIBE_URL%%"
MANAGE = "%%MANAGE_URL%%"
RECIPIENT = "%%EMAIL%%"
PLACEHOLDERS = (UNSUBSCRIBE, MANAGE, RECIPIENT)
# any per-recipient field: these, %%NAME%%, a recipients CSV column as %%COLUMN%%; with
# "|" and a fallback ("Hi %%NAME|there%%,") for a reader with no value for it
PLACEHOLDER = re.compile(rf"%%({FIELD_NAME})(?:\|({FIELD_FALLBACK}))?%%")
SAFE_SCHEMES = ("http://", "https://", "mailto:")
# Languages written right to left (primary subtags): the email is laid out mirrored.
RTL_LANGUAGES = frozenset({"ar", "arc", "ckb", "dv", "fa", "he", "iw", "ps", "sd", "ug", "ur", "yi"})
_DOCTYPE = re.compile(r"\s*<!doctype[^>]*>", re.I)
# Between a product's name and its tagline in a tool's headline: "Clipwise: turn videos..."
_PRODUCT_SEPARATOR = re.compile(r":\s|\s[–—|-]\s")

# The templates' wording; ``newsletter.labels`` in sources.yaml overrides any of these.
LABELS = {
    "view_in_browser": "View in browser",
    "issue": "Issue",
    "agenda": "Here's our agenda",
    "sponsors": "Our sponsors",
    "takeaways": "Takeaways at a glance",
    "read_more": "Read the full story at",
    "also_covered": "Also covered by",
    "more": "more",
    "poll_subject": "Poll",
    "poll_hint": "Tap an answer to reply. We read every one.",
    "try": "Try",
    "view_post": "View post",
    "share_line": "Enjoying the newsletter? Share it with a friend by sending them this link:",
    "archive_line": "Looking for past newsletters? You can find them all here.",
    "sponsor_line": "Reach out to our audience by becoming a sponsor here.",
    "reply_line": "Working on a cool AI project you would like us to write about? "
    "Reply to this email, we would love to hear from you!",
    "share": "Share",
    "archive": "Past issues",
    "manage": "Manage preferences",
    "unsubscribe": "Unsubscribe",
    "links": "Links",
    "sponsored": "Sponsored",  # a sponsor's label, unless it has its own
    "learn_more": "Learn more",  # a sponsor's button, unless it has its own cta
    "no_issues": "No issues yet.",
    "atom_feed": "Atom feed",
    # "Issue #7": {issue} is the label above, {number} the issue's ("第{number}号")
    "issue_number": "{issue} #{number}",
    # Dates: the header's and the archive's (date), a quote card's (short_date), with
    # {day}, {month}, {month_short}, {month_number} and {year} ("{day:02}" pads to two
    # digits); months and months_short are the twelve names, separated by commas.
    "date": "{month} {day}, {year}",
    "short_date": "{month_short} {day}, {year}",
    "months": "January, February, March, April, May, June, July, August, September, "
    "October, November, December",
    "months_short": "Jan, Feb, Mar, Apr, May, Jun, Jul, Aug, Sep, Oct, Nov, Dec",
}
# Months as Chinese and Japanese write them ("6月"), and Arabic's twelve names.
_NUMBERED = dict.fromkeys(("months", "months_short"), ", ".join(f"{n}月" for n in range(1, 13)))
_ARABIC_MONTHS = "يناير, فبراير, مارس, أبريل, مايو, يونيو, يوليو, أغسطس, سبتمبر, أكتوبر, نوفمبر, ديسمبر"
# How dates are written in a few languages (``newsletter.language``'s primary subtag),
# between the built-in labels and the newsletter's own; other languages set the four
# date labels in ``newsletter.labels``. Each gives all four: a newsletter's own pattern
# ("{day}. {month_short}") has the language's month names.
DATE_LABELS = {
    "de": {
        "date": "{day}. {month} {year}",
        "short_date": "{day:02}.{month_number:02}.{year}",
        "months": "Januar, Februar, März, April, Mai, Juni, Juli, August, September, Oktober, "
        "November, Dezember",
        "months_short": "Jan., Feb., März, Apr., Mai, Juni, Juli, Aug., Sept., Okt., Nov., Dez.",
    },
    "fr": {
        "date": "{day} {month} {year}",
        "short_date": "{day} {month_short} {year}",
        "months": "janvier, février, mars, avril, mai, juin, juillet, août, septembre, octobre, "
        "novembre, décembre",
        "months_short": "janv., févr., mars, avr., mai, juin, juil., août, sept., oct., nov., déc.",
    },
    "es": {
        "date": "{day} de {month} de {year}",
        "short_date": "{day} {month_short} {year}",
        "months": "enero, febrero, marzo, abril, mayo, junio, julio, agosto, septiembre, octubre, "
        "noviembre, diciembre",
        "months_short": "ene, feb, mar, abr, may, jun, jul, ago, sept, oct, nov, dic",
    },
    "it": {
        "date": "{day} {month} {year}",
        "short_date": "{day} {month_short} {year}",
        "months": "gennaio, febbraio, marzo, aprile, maggio, giugno, luglio, agosto, settembre, "
        "ottobre, novembre, dicembre",
        "months_short": "gen, feb, mar, apr, mag, giu, lug, ago, set, ott, nov, dic",
    },
    "pt": {
        "date": "{day} de {month} de {year}",
        "short_date": "{day} de {month_short} de {year}",
        "months": "janeiro, fevereiro, março, abril, maio, junho, julho, agosto, setembro, "
        "outubro, novembro, dezembro",
        "months_short": "jan., fev., mar., abr., mai., jun., jul., ago., set., out., nov., dez.",
    },
    "nl": {
        "date": "{day} {month} {year}",
        "short_date": "{day} {month_short} {year}",
        "months": "januari, februari, maart, april, mei, juni, juli, augustus, september, "
        "oktober, november, december",
        "months_short": "jan, feb, mrt, apr, mei, jun, jul, aug, sep, okt, nov, dec",
    },
    "ja": {
        "date": "{year}年{month_number}月{day}日",
        "short_date": "{year}年{month_number}月{day}日",
        **_NUMBERED,
    },
    "zh": {
        "date": "{year}年{month_number}月{day}日",
        "short_date": "{year}年{month_number}月{day}日",
        **_NUMBERED,
    },
    "ar": {
        "date": "{day} {month} {year}",
        "short_date": "{day} {month} {year}",
        "months": _ARABIC_MONTHS,
        "months_short": _ARABIC_MONTHS,  # not shortened
    },
}


@dataclass(frozen=True)
class Rendered:
    """The rendered forms of one issue."""

    html: str
    text: str
    mjml: str

    @property
    def html_bytes(self) -> int:
        """Size of the HTML as sent, in bytes (what Gmail's clipping counts)."""
        return len(self.html.encode("utf-8"))


class LinkRefs:
    """Numbered references for the plaintext issue: ``[n]`` in the text, URLs at the end."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, url: str) -> str:
        """The ``[n]`` marker of ``url``, numbering it on first use."""
        if url not in self.urls:
            self.urls.append(url)
        return f"[{self.urls.index(url) + 1}]"


def builtin_templates() -> Path:
    """The built-in theme: inside the installed package, or the repo's templates/."""
    packaged = Path(__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "templates"


def environment(
    config: Config, issue: Issue | None = None, words: dict[str, str] | None = None
) -> jinja2.Environment:
    """A Jinja2 environment over the newsletter's templates, then the built-in ones;
    ``words`` are the ``labels`` of ``config``, when the caller has them already."""
    folders = [builtin_templates()]
    if config.templates:
        folders.insert(0, config.resolve(config.templates))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders),
        autoescape=jinja2.select_autoescape(["html", "mjml", "xml"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    fields = {"date": issue.date, "number": str(issue.number)} if issue else {}
    link = lambda url: tracked(safe_url(url), config.theme.utm, fields)  # noqa: E731
    rtl = is_rtl(config.newsletter.language)
    words = words or labels(config)
    env.filters.update(
        bidi=lambda text: bidi(text, rtl),
        wrap=wrap,
        link=link,
        tracked=link,
        # the notes' Markdown (a paragraph, a list item): HTML; text with [n] links; bare text
        markdown=lambda text: Markup(inline_html(text, link)),
        markdown_text=lambda text, ref: inline_text(text, link, ref),
        markdown_plain=lambda text: inline_text(text),
        sentence=first_sentence,
        product=product_name,
        shorten=shorten,
        longdate=lambda day: long_date(day, words),
        shortdate=lambda when: short_date(when, config.newsletter.timezone, words),
        issuenumber=lambda number: words["issue_number"].format(issue=words["issue"], number=number),
        daystart=lambda day: day_start(day, config.newsletter.timezone),
    )
    # `{% if url is linkable %}`: a story without a usable link shows its headline as
    # text, rather than a link to "#" (and a "[n] #" in the plaintext's links).
    env.tests["linkable"] = linkable
    return env


TEMPLATE_SUFFIXES = frozenset({".mjml", ".txt", ".html", ".css", ".xml"})


def misplaced_templates(config: Config, env: jinja2.Environment) -> list[str]:
    """A line for each file of the newsletter's templates folder that looks meant to
    override a built-in template (the same file name, or nearly the same path) but sits
    where none is, and that no template includes: a ``footer.mjml`` beside ``email.mjml``
    instead of in ``partials/`` would otherwise be ignored without a word. ``env`` is
    the environment the issue is rendered with (its loader reads the folder first)."""
    if not config.templates:
        return []
    folder, builtin = config.resolve(config.templates), builtin_templates()
    builtins = sorted(p.relative_to(builtin).as_posix() for p in builtin.rglob("*") if p.is_file())
    own = {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in TEMPLATE_SUFFIXES and not p.name.startswith(".")
    }
    used = set(builtins)
    for name in own:  # a built-in template includes built-in names only
        try:
            source = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
            used.update(jinja2.meta.find_referenced_templates(env.parse(source)))
        except jinja2.TemplateError:
            continue  # a broken template is reported, with its line, when it is rendered
    problems = []
    for name in sorted(own - used):
        # the same file name elsewhere, or a near spelling of one ("foooter.mjml")
        path = Path(name)
        stems = {Path(b).stem: b for b in builtins if Path(b).suffix == path.suffix}
        twins = [b for b in builtins if Path(b).name == path.name]
        near = difflib.get_close_matches(path.stem, stems, n=1, cutoff=0.8)
        meant = twins or [stems[stem] for stem in near]
        if meant:
            problems.append(
                f"{folder / name} overrides no built-in template and no template includes it: "
                f"to override the built-in {meant[0]}, name it {folder / meant[0]}"
            )
    return problems


def render_issue(issue: Issue, config: Config, notes: Notes) -> Rendered:
    """Render ``issue`` to MJML, HTML and plaintext (the notes' directives, such as
    ``Keep apart``, steer the build and are not shown)."""
    notes = [block for block in notes if not block.is_directive]
    words = labels(config)
    env = environment(config, issue, words)
    context = _context(issue, config, notes, env.filters["markdown"], words)
    source = _render_template(env, "email.mjml", context)
    html = inline_css(_mjml_to_html(source), _render_template(env, "theme.css", context))
    refs = LinkRefs()
    intro = _intro(issue, config, notes, lambda text: env.filters["markdown_text"](text, refs))
    text = _render_template(env, "issue.txt", {**context, "ref": refs, "intro": intro})
    rendered = Rendered(html=html, text=text, mjml=source)
    for problem in misplaced_templates(config, env):
        log.warning("templates: %s", problem)
    for problem in low_contrast(config.theme):
        log.warning("theme: %s is below the 4.5:1 contrast readers need", problem)
    if rendered.html_bytes > GMAIL_CLIP_BYTES:
        log.warning(
            "issue HTML is %.0f KB: Gmail clips messages over 102 KB (fewer stories per section?)",
            rendered.html_bytes / 1024,
        )
    return rendered


def render_page(config: Config, name: str, **context: Any) -> str:
    """Render a plain HTML page template (archive, report) with the given context."""
    rtl, words = is_rtl(config.newsletter.language), labels(config)
    base = {"config": config, "theme": config.theme, "labels": words, "rtl": rtl}
    return _render_template(environment(config, words=words), name, {**base, **context})


def labels(config: Config) -> dict[str, str]:
    """The templates' wording: the built-in labels, the language's way of writing dates
    (``DATE_LABELS``), then ``newsletter.labels``."""
    language = config.newsletter.language.replace("_", "-").split("-")[0].lower()
    return {**LABELS, **DATE_LABELS.get(language, {}), **config.newsletter.labels}


def _context(
    issue: Issue, config: Config, notes: Notes, markdown: Callable[[Inline], str], words: dict[str, str]
) -> dict[str, Any]:
    """Everything the issue templates see; ``markdown`` renders the notes' intro,
    ``words`` are the labels."""
    newsletter = config.newsletter
    base = newsletter.url.rstrip("/")
    reply = newsletter.reply_to or newsletter.sender.email
    unknown = sorted(set(newsletter.labels) - set(LABELS))
    if unknown and config.templates is None:  # a template of one's own may use its own labels
        log.warning(
            "newsletter.labels: no built-in template uses %s (known: %s)",
            ", ".join(unknown),
            ", ".join(sorted(LABELS)),
        )
    return {
        "issue": issue,
        "config": config,
        "newsletter": newsletter,
        "theme": config.theme,
        "labels": words,
        "sponsors": _sponsors(config, words),
        "sponsors_after": _sponsors_after(issue),
        "sponsor_names": [s.name or s.title for s in config.sponsors],
        "web_url": f"{base}/{issue.slug}/" if base else "",
        "archive_url": f"{base}/" if base else "",
        "subscribe_url": newsletter.subscribe_url or (f"{base}/" if base else ""),
        "sponsor_url": newsletter.sponsor_url,
        "reply_to": reply if "@" in reply and not reply.endswith("@localhost") else "",
        "unsubscribe_url": UNSUBSCRIBE,
        "manage_url": MANAGE,
        "recipient": RECIPIENT,
        "intro": _intro(issue, config, notes, markdown),
        "rtl": is_rtl(newsletter.language),
        **_split_notes(notes, issue),
    }


def is_rtl(language: str) -> bool:
    """Whether ``language`` (``ar``, ``he-IL``, ...) is written right to left."""
    return language.replace("_", "-").split("-")[0].lower() in RTL_LANGUAGES


def text_direction(text: str) -> str:
    """``rtl`` or ``ltr``: the direction of the first character of ``text`` that has
    one (how a reader's client picks a paragraph's direction); "" if none has (digits,
    punctuation, emoji)."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return ""


def bidi(text: str | None, rtl: bool) -> Markup:
    """``text`` HTML-escaped; in a ``<span dir>`` when it runs the other way from the
    issue (a Hebrew headline in an English issue, an English one in an Arabic issue).

    Left in the issue's direction, such a text is shown out of order: its closing "?"
    or "!" lands at the wrong end and its numbers and brackets move. ``dir`` on an
    inline element also keeps the text apart from what follows it (a source name).
    """
    plain = text.striptags() if isinstance(text, Markup) else str(text or "")
    direction = text_direction(plain)
    escaped = escape(text or "")
    if not direction or direction == ("rtl" if rtl else "ltr"):
        return escaped
    return Markup(f'<span dir="{direction}">') + escaped + Markup("</span>")


def _sponsors(config: Config, words: dict[str, str]) -> list[Sponsor]:
    """The sponsors, a label or button text they do not set in the newsletter's words."""
    return [
        sponsor.model_copy(
            update={"label": sponsor.label or words["sponsored"], "cta": sponsor.cta or words["learn_more"]}
        )
        for sponsor in config.sponsors
    ]


def _sponsors_after(issue: Issue) -> str:
    """The section that "middle" sponsors follow: the lead story, else the first section."""
    lead = next((s for s in issue.sections if s.style == "lead"), None)
    first = lead or (issue.sections[0] if issue.sections else None)
    return first.id if first else ""


def _split_notes(notes: Notes, issue: Issue) -> dict[str, Any]:
    """The notes by role: the issue's intro, the lead story's blocks, and its poll;
    ``notes_alone`` when there is no lead story to show them under: they are then a
    block of their own."""
    intro = next((b for b in notes if b.title.lower() == "intro"), None)
    poll = next((b for b in notes if b.is_poll), None)
    lead_notes = [b for b in notes if b is not intro and b is not poll]
    has_lead = any(section.style == "lead" for section in issue.sections)
    return {
        "notes": notes,
        "intro_note": intro,
        "lead_notes": lead_notes,
        "poll": poll or NoteBlock(""),
        "notes_alone": bool(lead_notes or poll) and not has_lead,
    }


def _intro(issue: Issue, config: Config, notes: Notes, markdown: Callable[[Inline], str]) -> list[str]:
    """The intro paragraphs: the notes' ``## Intro`` (each paragraph and list item, by
    ``markdown``), else the configured intro, else the sentences of the lead story's
    summary that the issue does not show already (in the subtitle just above, or in the
    lead's paragraphs): none when it only repeats them."""
    block = next((b for b in notes if b.title.lower() == "intro"), None)
    if block:
        return [markdown(line) for line in block.lines]
    if config.newsletter.intro:
        return [config.newsletter.intro]
    if not issue.lead:
        return []
    shown = " ".join(" ".join(text.split()) for text in [issue.subtitle, *issue.lead.body])
    new = [s for s in sentences.split(issue.lead.lead.summary) if s not in shown]
    return [" ".join(new)] if new else []


def _render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """Render template ``name``; any template mistake becomes a ``TemplateError`` at file:line."""
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template {exc.name!r} not found in the templates folders") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{template_position(exc)}: {exc.message}") from None
    except Exception as exc:  # a runtime error inside a template: a filter on the wrong type, ...
        where = template_position(exc)
        if where == "template":
            raise  # not raised from a template: a bug of ours
        raise TemplateError(f"{where}: {type(exc).__name__}: {exc}") from None


def template_position(exc: BaseException) -> str:
    """file:line of the innermost template frame of a render-time error."""
    # Jinja rewrites the traceback so that template frames carry the template's own
    # file name and line number.
    tb, where = exc.__traceback__, "template"
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not filename.endswith(".py") and not filename.startswith("<"):
            where = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


def _mjml_to_html(source: str) -> str:
    """The HTML of ``source``; MRML's parse errors become a ``TemplateError`` that shows
    the element at fault where it can be found (MRML names no place)."""
    try:
        return mjml2html(source)
    except ValueError as exc:
        raise TemplateError(f"email.mjml: the MJML does not render: {exc}{_unbalanced(source)}") from None


_MJ_TAG = re.compile(r"<(/?)(mjml|mj-[a-z-]+)\b[^>]*?(/?)>")


def _unbalanced(source: str) -> str:
    """Where the first ``mj-`` element of ``source`` that is not closed, or closed out of
    turn, starts: its line in the MJML the templates made, and the words there, which
    find it in the template ("" if every element is closed)."""
    stack: list[re.Match[str]] = []
    for tag in _MJ_TAG.finditer(source):
        closing, name, empty = tag.groups()
        if empty or name in _MJ_EMPTY:
            continue
        if not closing:
            stack.append(tag)
        elif stack and stack[-1].group(2) == name:
            stack.pop()
        else:
            return _place(
                source,
                stack[-1] if stack else tag,
                "is not closed before </" + name + ">" if stack else "closes nothing",
            )
    return _place(source, stack[-1], "is never closed") if stack else ""


def _place(source: str, tag: re.Match[str], what: str) -> str:
    line = source.count("\n", 0, tag.start()) + 1
    after = re.sub(r"<[^>]*>|<[^>]*$", " ", source[tag.end() : tag.end() + 200])  # a cut tag too
    near = " ".join(after.split())[:60]
    return f"; <{tag.group(1)}{tag.group(2)}> on line {line} of the MJML {what}" + (
        f" (before “{near}”)" if near else ""
    )


def inline_css(html: str, css: str) -> str:
    """Inline the theme's own ``css`` into ``html``; MRML's styles (media queries,
    dark mode, ``!important``) stay untouched in ``<style>``.

    Premailer drops MRML's ``<!doctype html>``; it is put back, since without it
    browsers and webmail render in quirks mode, where tables inherit no font or color.
    """
    if not css.strip():
        return html
    doctype = _DOCTYPE.match(html)
    marked = html.replace("<style", '<style data-premailer="ignore"')
    inlined = Premailer(
        marked,
        css_text=css,
        keep_style_tags=True,
        strip_important=False,
        allow_network=False,
        disable_validation=True,
        disable_leftover_css=True,
        cssutils_logging_level=logging.CRITICAL,
    ).transform(pretty_print=False)
    inlined = inlined.replace(' data-premailer="ignore"', "")
    return (doctype.group(0).strip() if doctype else "") + inlined


def linkable(url: str | None) -> bool:
    """Whether ``url`` can be a link: http(s), mailto or a send-time placeholder."""
    url = (url or "").strip()
    return url.lower().startswith(SAFE_SCHEMES) or url in PLACEHOLDERS


def safe_url(url: str) -> str:
    """``url`` if it is http(s), mailto or a send-time placeholder; otherwise ``#``."""
    url = (url or "").strip()
    if linkable(url):
        return url
    log.warning("dropped a link that is not http(s) or mailto: %.80s", url)
    return "#"


def tracked(url: str, utm: dict[str, str], fields: dict[str, str] | None = None) -> str:
    """``url`` with the configured UTM parameters added (none by default).

    Values may use ``{date}`` and ``{number}``, filled with the issue's.
    """
    if not utm or not url.startswith(("http://", "https://")):
        return url
    fields = fields or {}
    fill = lambda m: fields.get(m[1], m[0])  # noqa: E731
    values = {f"utm_{k}": re.sub(r"\{(date|number)\}", fill, v) for k, v in utm.items()}
    parts = urlsplit(url)
    extra = urlencode(values)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def first_sentence(text: str, limit: int = 200) -> str:
    """The first sentence of ``text``, cut at a word under ``limit`` characters."""
    return shorten(sentences.first(str(text or "")), limit)


def product_name(title: str, limit: int = 40) -> str:
    """What a card's "Try ..." link names: the product of a "Name: what it does" (or
    "Name – what it does") headline, else the headline cut at a word."""
    name = _PRODUCT_SEPARATOR.split(str(title or ""), maxsplit=1)[0].strip()
    if name and len(name.split()) <= 4:
        return shorten(name, limit)
    return shorten(str(title or ""), limit)


def long_date(value: str | Date, words: dict[str, str] = LABELS) -> str:
    """``2025-06-14`` as ``June 14, 2025``, or as ``words`` (the labels) write a date
    (``14. Juni 2025``)."""
    day = Date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(day, words["date"], words)


def format_date(day: Date, pattern: str, words: dict[str, str] = LABELS) -> str:
    """``day`` written by ``pattern`` ("{month} {day}, {year}"), with the month names of
    ``words`` (the labels ``months`` and ``months_short``)."""
    return pattern.format(
        day=day.day,
        month=month_names(words["months"])[day.month - 1],
        month_short=month_names(words["months_short"])[day.month - 1],
        month_number=day.month,
        year=day.year,
    )


def month_names(label: str) -> list[str]:
    """The twelve month names of a ``months`` label ("Januar, Februar, ...")."""
    return [name.strip() for name in label.split(",")]


def day_start(value: str | Date, zone: str = "UTC") -> str:
    """The first moment of the day ``2025-06-14`` in the newsletter's time ``zone``, in
    RFC 3339 (``2025-06-14T00:00:00-07:00``): the instant a feed reader shows as that
    day where the newsletter is read (midnight UTC is the day before west of Greenwich)."""
    day = Date.fromisoformat(value) if isinstance(value, str) else value
    return datetime.combine(day, time(), ZoneInfo(zone)).isoformat()


def short_date(when: datetime, zone: str = "UTC", words: dict[str, str] = LABELS) -> str:
    """``when`` as ``Jun 14, 2025`` (or as the labels ``words`` write a short date): the
    day it was in the newsletter's time ``zone`` (a post at 20:00 UTC is already the next
    day in Tokyo)."""
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    local = aware.astimezone(ZoneInfo(zone))
    return format_date(local.date(), words["short_date"], words)


def wrap(text: str, width: int = 72, indent: str = "", hanging: str | None = None) -> str:
    """Wrap ``text`` at ``width`` columns, never breaking a URL or a ``[n]`` reference;
    any other word longer than a line is cut across lines.

    ``indent`` starts the first line (e.g. ``"- "``); the next lines are indented by
    ``hanging`` (default: as many spaces as ``indent``).
    """
    paragraphs = [p for p in re.split(r"\n\s*\n", str(text)) if p.strip()]
    wrapper = _Wrapper(
        width=width,
        initial_indent=indent,
        subsequent_indent=" " * len(indent) if hanging is None else hanging,
        break_on_hyphens=False,
    )
    # a field's fallback ("%%NAME|dear reader%%") is one word: broken across lines, it
    # would be filled by nobody and reach every reader as it is written
    kept = (PLACEHOLDER.sub(_joined, " ".join(p.split())) for p in paragraphs)
    return PLACEHOLDER.sub(_spaced, "\n\n".join(wrapper.fill(p) for p in kept))


_KEPT_SPACE = "\u00a0"  # no break for textwrap, which breaks lines at ASCII whitespace only


def _joined(field: re.Match[str]) -> str:
    return field.group().replace(" ", _KEPT_SPACE)


def _spaced(field: re.Match[str]) -> str:
    return field.group().replace(_KEPT_SPACE, " ")


# A word that must stay whole in the plaintext: a link (it would no longer work), a
# per-recipient placeholder, a [n] reference.
_UNBREAKABLE = re.compile(rf"(?i)https?://|mailto:|^www\.|{PLACEHOLDER.pattern}|^\[\d+\]")


class _Wrapper(textwrap.TextWrapper):
    """A ``TextWrapper`` that cuts a long word across lines unless it is a link."""

    def _handle_long_word(
        self, reversed_chunks: list[str], cur_line: list[str], cur_len: int, width: int
    ) -> None:
        self.break_long_words = not _UNBREAKABLE.search(reversed_chunks[-1])
        super()._handle_long_word(reversed_chunks, cur_line, cur_len, width)
