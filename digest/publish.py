"""Write an issue to ``out/``: the issue folder, the archive page, an Atom feed, ``latest``.

Per issue (``out/<slug>/``): ``index.html`` (web version), ``issue.txt``, ``issue.json``
(the contract in DESIGN.md), ``dedup.json`` and ``report.html`` (why takes merged),
and ``email.html`` / ``email.txt`` with the per-recipient placeholders that ``send``
fills. The folder is written beside its place and renamed into it, and the archive's
files and ``latest`` are each renamed over the old, so a reader never sees half.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import SUBJECT_PLACEHOLDER, Config
from .errors import ConfigError
from .models import Issue, Item, Story
from .render import MANAGE, PLACEHOLDER, RECIPIENT, UNSUBSCRIBE, Rendered, labels, long_date, render_page

FEED_ISSUES = 50  # issues in out/feed.xml, newest first (the archive page lists them all)


def publish(
    issue: Issue,
    rendered: Rendered,
    report: dict[str, Any],
    config: Config,
    out: Path,
    before_swap: Callable[[], None] = lambda: None,
) -> Path:
    """Write the issue folder and refresh the archive; return the folder.

    The folder is written whole beside its place, then ``before_swap`` runs (the build
    records the issue), then it replaces the old one by renames, so a build killed at
    any point leaves the old folder or the new one, never a mix of both."""
    folder = out / issue.slug
    try:
        out.mkdir(parents=True, exist_ok=True)
        _sweep(out)
        staging = Path(tempfile.mkdtemp(prefix=f".{issue.slug}.building-", dir=out))
    except OSError as exc:
        raise ConfigError(
            f"{out}: cannot write the issue there: {exc.strerror or exc} ('out' in sources.yaml, or --out)"
        ) from None
    web = _web_links(config)
    files = {
        "email.html": rendered.html,
        "email.txt": rendered.text,
        "index.html": web_page(_fill(rendered.html, web)),
        "issue.txt": _fill(rendered.text, web),
        "issue.json": _dump(issue_json(issue, config)),
        "dedup.json": _dump(report),
    }
    if report:  # no dedup report (an issue built without dedup), no report page
        files["report.html"] = render_page(
            config,
            "report.html",
            report=report,
            newsletter=config.newsletter.name,
            date=issue.date,
            over_cap=issue.over_cap,
        )
    for name, text in files.items():
        (staging / name).write_text(text, encoding="utf-8")
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the issue from a web server
    before_swap()
    _put_in_place(staging, folder)
    refresh_archive(config, out)
    return folder


def _put_in_place(staging: Path, folder: Path) -> None:
    """Replace ``folder`` by ``staging``: two renames, the old folder removed after."""
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        folder.rename(old)
    staging.rename(folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _sweep(out: Path) -> None:
    """Remove what a build killed while publishing left behind (the caller holds the
    publish lock, so no build is writing them now)."""
    for pattern in (".*.building-*", ".*.old-*", ".*.tmp-*"):
        for leftover in out.glob(pattern):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def subject_line(issue: Issue, config: Config) -> str:
    """The email's Subject from ``newsletter.subject``, as one line of plain text; its
    ``{date}`` is written as the issue's header writes it (the ``date`` label: "June 14,
    2025", "14. Juni 2025"), ``{iso_date}`` as 2025-06-14."""
    fields = {
        "title": issue.title,
        "name": config.newsletter.name,
        "number": issue.number,
        "date": long_date(issue.date, labels(config)),
        "iso_date": issue.date,
    }
    subject = SUBJECT_PLACEHOLDER.sub(lambda m: str(fields[m.group(1)]), config.newsletter.subject)
    return " ".join(subject.split())


def issue_json(issue: Issue, config: Config) -> dict[str, Any]:
    """The ``issue.json`` document of the contract."""
    return {
        "newsletter": {"name": config.newsletter.name, "url": config.newsletter.url},
        "number": issue.number,
        "date": issue.date,
        "title": issue.title,
        "subtitle": issue.subtitle,
        "subject": subject_line(issue, config),
        "sections": [
            {
                "id": section.id,
                "title": section.title,
                "style": section.style,
                "stories": [_story_json(story) for story in section.stories],
            }
            for section in issue.sections
        ],
        "stats": {
            "feeds_ok": issue.stats.feeds_ok,
            "feeds_failed": [{"source": f.source, "error": f.error} for f in issue.stats.feeds_failed],
            "feeds_read_in_part": [
                {"source": f.source, "error": f.error} for f in issue.stats.feeds_read_in_part
            ],
            "items": issue.stats.items,
            # entries of working feeds left out before dedup (see models.Stats)
            "items_filtered_out": issue.stats.items_filtered_out,
            "items_over_max": issue.stats.items_over_max,
            "items_untitled": issue.stats.items_untitled,
            "items_repeated": issue.stats.items_repeated,
            "stories": issue.stats.stories,
            # stories found but left out, each under the first reason (see models.Stats)
            "stories_left_out_in_notes": issue.stats.stories_left_out_in_notes,
            "stories_published_before": issue.stats.stories_published_before,
            "stories_too_old": issue.stats.stories_too_old,
            "stories_too_new": issue.stats.stories_too_new,
            "stories_over_cap": issue.stats.stories_over_cap,
        },
    }


def _story_json(story: Story) -> dict[str, Any]:
    lead, pictured = story.lead, story.pictured
    return {
        "id": story.id,
        "title": lead.title,
        "url": lead.url,
        "source": lead.source,
        "summary": lead.summary,
        "takeaways": [t.text for t in story.takeaways],
        "emoji": story.emoji,
        "published": _iso(lead),
        "image": pictured.image if pictured else None,
        "items": [
            {"id": i.id, "url": i.url, "title": i.title, "source": i.source, "published": _iso(i)}
            for i in story.items
        ],
    }


def _iso(item: Item) -> str | None:
    return item.published.isoformat() if item.published else None


def refresh_archive(config: Config, out: Path) -> None:
    """Rewrite ``out/index.html``, ``out/feed.xml`` and the ``latest`` link from every issue."""
    issues = _archived(out)
    updated = datetime.now(UTC).isoformat(timespec="seconds")
    context = {"issues": issues, "newsletter": config.newsletter, "updated": updated}
    write_atomic(out / "index.html", render_page(config, "archive.html", **context))
    # the feed keeps the newest issues only: readers poll it, and a year of issues would
    # be fetched whole at every poll; the archive page lists them all
    feed = {**context, "issues": issues[:FEED_ISSUES]}
    write_atomic(out / "feed.xml", render_page(config, "feed.xml", **feed))
    if issues:  # a new link renamed over the old one: ``latest`` is never missing
        link = out / f".latest.tmp-{os.getpid()}"
        link.unlink(missing_ok=True)
        link.symlink_to(issues[0]["slug"], target_is_directory=True)
        os.replace(link, out / "latest")


def _archived(out: Path) -> list[dict[str, Any]]:
    """Every issue in ``out/``, newest first, with its slug."""
    issues = []
    for path in out.glob("*/issue.json"):
        if path.parent.is_symlink() or path.parent.name.startswith("."):
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        issues.append({**data, "slug": path.parent.name})
    return sorted(issues, key=lambda i: (i.get("date", ""), i.get("number", 0)), reverse=True)


def _web_links(config: Config) -> dict[str, str]:
    """What the per-recipient placeholders become in the public web version: the
    configured pages; else, to unsubscribe, a mail asking for it (the archive's page
    unsubscribed nobody), and to manage, the archive; else the other (never a dead link).
    A page whose address is made per reader (``?u={email}&t={token}``) has no address
    for the public, so the fallback stands in for it."""
    recipients = config.recipients
    newsletter = config.newsletter
    mail = (
        (recipients.unsubscribe_mailto if recipients else "")
        or newsletter.reply_to
        or newsletter.sender.email
    )
    by_mail = f"mailto:{mail.removeprefix('mailto:')}?subject=unsubscribe" if mail else ""
    unsubscribe, manage = (
        (url if "{" not in url else "" for url in (recipients.unsubscribe_url, recipients.manage_url))
        if recipients
        else ("", "")
    )
    return {
        UNSUBSCRIBE: unsubscribe or by_mail or newsletter.url,
        MANAGE: manage or newsletter.url or by_mail,
        RECIPIENT: "",
    }


_BODY = re.compile(r"<body\b[^>]*>")


def web_page(html: str) -> str:
    """The email's ``html`` as a page of the web: its body's content in a ``<main>``
    landmark, which a screen reader's "skip to main content" goes to. The email itself
    has none: MJML writes no element around its sections, and a mail client shows the
    message inside its own page's main content."""
    body = _BODY.search(html)
    end = html.rfind("</body>")
    if not body or end < body.end():
        return html
    return f"{html[: body.end()]}<main>{html[body.end() : end]}</main>{html[end:]}"


def _fill(text: str, values: dict[str, str]) -> str:
    """``text`` with the ``values`` filled in and every other reader's field (a
    template's ``%%NAME%%``, a CSV column's ``%%PLAN%%``) left empty or at its fallback
    (``%%NAME|there%%``): the public has none."""
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return PLACEHOLDER.sub(lambda m: m.group(2) or "", text)


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` via a temporary file of its own and a rename."""
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.tmp-", delete=False
    ) as temporary:
        temporary.write(text)
    os.chmod(temporary.name, 0o644)  # NamedTemporaryFile's 0600 would hide it from a web server
    os.replace(temporary.name, path)
