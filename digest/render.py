"""Render an ``Issue``: Jinja2 -> MJML -> HTML (mjml-python), theme CSS inlined, plaintext.

Templates come from the newsletter's own ``templates:`` folder first, then the built-in
theme, file by file. Undefined variables and broken MJML fail the build with the
template's file and line: a template mistake never silently renders blanks.
"""

from __future__ import annotations

import logging
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import jinja2
from mjml import mjml2html
from premailer import Premailer

from .config import Config
from .errors import TemplateError
from .models import Issue
from .notes import Notes

log = logging.getLogger(__name__)
GMAIL_CLIP_BYTES = 102 * 1024
# Filled per recipient at send time; the web version gets the newsletter's own links.
UNSUBSCRIBE = "%%UNSUBSCRIBE_URL%%"
MANAGE = "%%MANAGE_URL%%"
RECIPIENT = "%%EMAIL%%"


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


def builtin_templates() -> Path:
    """The built-in theme: inside the installed package, or the repo's templates/."""
    packaged = Path(__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "templates"


def environment(config: Config) -> jinja2.Environment:
    """A Jinja2 environment over the newsletter's templates, then the built-in ones."""
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
    env.filters["wrap"] = wrap
    env.filters["tracked"] = lambda url: tracked(url, config.theme.utm)
    return env


def render_issue(issue: Issue, config: Config, notes: Notes) -> Rendered:
    """Render ``issue`` to MJML, HTML and plaintext."""
    env = environment(config)
    context = _context(issue, config, notes)
    source = _render_template(env, "email.mjml", context)
    html = inline_css(_mjml_to_html(source), _render_template(env, "theme.css", context))
    text = _render_template(env, "issue.txt", context)
    rendered = Rendered(html=html, text=text, mjml=source)
    if rendered.html_bytes > GMAIL_CLIP_BYTES:
        log.warning(
            "issue HTML is %.0f KB: Gmail clips messages over 102 KB (fewer stories per section?)",
            rendered.html_bytes / 1024,
        )
    return rendered


def render_page(config: Config, name: str, **context: Any) -> str:
    """Render a plain HTML page template (archive, report) with the given context."""
    return _render_template(environment(config), name, {"config": config, **context})


def _context(issue: Issue, config: Config, notes: Notes) -> dict[str, Any]:
    base = config.newsletter.url.rstrip("/")
    return {
        "issue": issue,
        "config": config,
        "newsletter": config.newsletter,
        "theme": config.theme,
        "notes": notes,
        "sponsors": config.sponsors,
        "web_url": f"{base}/{issue.slug}/" if base else "",
        "archive_url": f"{base}/" if base else "",
        "unsubscribe_url": UNSUBSCRIBE,
        "manage_url": MANAGE,
        "recipient": RECIPIENT,
    }


def _render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template {exc.name!r} not found in the templates folders") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{_template_position(exc)}: {exc.message}") from None


def _template_position(exc: BaseException) -> str:
    """file:line of the innermost template frame of a render-time error."""
    tb, where = exc.__traceback__, "template"
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename.endswith((".mjml", ".txt", ".html", ".xml")):
            where = f"{code.co_filename}:{_template_line(tb)}"
        tb = tb.tb_next
    return where


def _template_line(tb: Any) -> int:
    """Jinja maps compiled code lines back to template lines in its debug info."""
    template = tb.tb_frame.f_globals.get("__jinja_template__")
    return template.get_corresponding_lineno(tb.tb_lineno) if template else tb.tb_lineno


def _mjml_to_html(source: str) -> str:
    try:
        return mjml2html(source)
    except ValueError as exc:
        raise TemplateError(f"email.mjml: the MJML does not render: {exc}") from None


def inline_css(html: str, css: str) -> str:
    """Inline the theme's own ``css`` into ``html``; MRML's styles (media queries,
    dark mode, ``!important``) stay untouched in ``<style>``."""
    if not css.strip():
        return html
    marked = html.replace("<style", '<style data-premailer="ignore"')
    return Premailer(
        marked,
        css_text=css,
        keep_style_tags=True,
        strip_important=False,
        allow_network=False,
        disable_validation=True,
        disable_leftover_css=True,
        cssutils_logging_level=logging.CRITICAL,
    ).transform(pretty_print=False)


def tracked(url: str, utm: dict[str, str]) -> str:
    """``url`` with the configured UTM parameters added (none by default)."""
    if not utm or not url.startswith(("http://", "https://")):
        return url
    parts = urlsplit(url)
    extra = urlencode({f"utm_{k}": v for k, v in utm.items()})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


_URL = re.compile(r"\S*https?://\S+")


def wrap(text: str, width: int = 72, indent: str = "") -> str:
    """Wrap ``text`` at ``width`` columns, never breaking a URL."""
    paragraphs = [p for p in re.split(r"\n\s*\n", str(text)) if p.strip()]
    wrapper = textwrap.TextWrapper(
        width=width,
        initial_indent=indent,
        subsequent_indent=" " * len(indent),
        break_long_words=False,
        break_on_hyphens=False,
    )
    return "\n\n".join(wrapper.fill(" ".join(p.split())) for p in paragraphs)
