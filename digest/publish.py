"""Write an issue to ``out/``: the issue folder, the archive page, an Atom feed, ``latest``.

Per issue (``out/<slug>/``): ``index.html`` (web version), ``issue.txt``, ``issue.json``
(the contract in DESIGN.md), ``dedup.json`` and ``report.html`` (why takes merged),
and ``email.html`` / ``email.txt`` with the per-recipient placeholders that ``send``
fills. Files are written to a temporary name and renamed, so a reader never sees half.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import SUBJECT_PLACEHOLDER, Config
from .models import Issue, Item, Story
from .render import MANAGE, RECIPIENT, UNSUBSCRIBE, Rendered, render_page


def publish(issue: Issue, rendered: Rendered, report: dict[str, Any], config: Config, out: Path) -> Path:
    """Write the issue folder and refresh the archive; return the folder."""
    folder = out / issue.slug
    folder.mkdir(parents=True, exist_ok=True)
    web = _web_links(config)
    write_atomic(folder / "email.html", rendered.html)
    write_atomic(folder / "email.txt", rendered.text)
    write_atomic(folder / "index.html", _fill(rendered.html, web))
    write_atomic(folder / "issue.txt", _fill(rendered.text, web))
    write_atomic(folder / "issue.json", _dump(issue_json(issue, config)))
    write_atomic(folder / "dedup.json", _dump(report))
    if report:  # no dedup report (an issue built without dedup), no report page
        page = render_page(
            config, "report.html", report=report, newsletter=config.newsletter.name, date=issue.date
        )
        write_atomic(folder / "report.html", page)
    refresh_archive(config, out)
    return folder


def subject_line(issue: Issue, config: Config) -> str:
    """The email's Subject from ``newsletter.subject``, as one line of plain text."""
    fields = {
        "title": issue.title,
        "name": config.newsletter.name,
        "number": issue.number,
        "date": issue.date,
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
            "items": issue.stats.items,
            "stories": issue.stats.stories,
        },
    }


def _story_json(story: Story) -> dict[str, Any]:
    lead = story.lead
    return {
        "id": story.id,
        "title": lead.title,
        "url": lead.url,
        "source": lead.source,
        "summary": lead.summary,
        "takeaways": [t.text for t in story.takeaways],
        "emoji": story.emoji,
        "published": _iso(lead),
        "image": lead.image,
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
    write_atomic(out / "feed.xml", render_page(config, "feed.xml", **context))
    if issues:
        latest = out / "latest"
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(issues[0]["slug"], target_is_directory=True)


def _archived(out: Path) -> list[dict[str, Any]]:
    """Every issue in ``out/``, newest first, with its slug."""
    issues = []
    for path in out.glob("*/issue.json"):
        if path.parent.is_symlink():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        issues.append({**data, "slug": path.parent.name})
    return sorted(issues, key=lambda i: (i.get("date", ""), i.get("number", 0)), reverse=True)


def _web_links(config: Config) -> dict[str, str]:
    """What the per-recipient placeholders become in the public web version: the
    configured pages, else the archive, else a mail to the newsletter (never a dead link)."""
    recipients = config.recipients
    newsletter = config.newsletter
    mail = (
        (recipients.unsubscribe_mailto if recipients else "")
        or newsletter.reply_to
        or newsletter.sender.email
    )
    fallback = newsletter.url or f"mailto:{mail.removeprefix('mailto:')}?subject=unsubscribe"
    return {
        UNSUBSCRIBE: (recipients.unsubscribe_url if recipients else "") or fallback,
        MANAGE: (recipients.manage_url if recipients else "") or newsletter.url or fallback,
        RECIPIENT: "",
    }


def _fill(text: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` via a temporary file and a rename."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
