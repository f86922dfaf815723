"""Find and read a published issue folder: what ``send`` needs from ``out/<date>/``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import SendError

NEEDED = ("email.html", "email.txt", "issue.json")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class IssueFiles:
    """One issue as ``publish`` left it: the email bodies with placeholders, and its data."""

    folder: Path
    key: str  # the issue's date: its name in the send log and the issues table
    subject: str  # the Subject line (see ``issue_subject``)
    html: str
    text: str


def find_issue(issue: str | None, out: Path) -> Path:
    """The folder of ``issue``: a folder, a date in ``out``, or (None) the latest in ``out``."""
    if issue is None:
        return _latest(out)
    given = Path(issue)
    if given.is_dir():
        return given
    if _DATE.match(issue) and (out / issue).is_dir():
        return out / issue
    raise SendError(f"no issue {issue!r}: give an issue folder, or a date YYYY-MM-DD of a folder in {out}")


def _latest(out: Path) -> Path:
    latest = out / "latest"
    if latest.is_dir():
        return latest.resolve()
    dated = sorted(p for p in out.glob("*/issue.json") if _DATE.match(p.parent.name))
    if not dated:
        raise SendError(f"no issue in {out}: build one first (digest build), or name the issue folder")
    return dated[-1].parent


def load_issue(folder: Path) -> IssueFiles:
    """Read the issue in ``folder``; ``SendError`` if it is not a complete issue folder."""
    missing = [name for name in NEEDED if not (folder / name).is_file()]
    if missing:
        raise SendError(
            f"{folder}: not an issue folder (no {', '.join(missing)}); build it with digest build"
        )
    try:
        data = json.loads((folder / "issue.json").read_text(encoding="utf-8"))
        body_html = (folder / "email.html").read_text(encoding="utf-8")
        body_text = (folder / "email.txt").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SendError(f"{folder}: cannot read the issue: {exc}") from None
    if not isinstance(data, dict):
        raise SendError(f"{folder / 'issue.json'}: not an issue document")
    key = str(data.get("date") or folder.resolve().name)
    return IssueFiles(folder, key, issue_subject(data), body_html, body_text)


def issue_subject(data: dict[str, object]) -> str:
    """The Subject of the issue whose issue.json is ``data``: its "subject", else (older
    issues) its title, else the newsletter's name; one line of plain text."""
    newsletter = data.get("newsletter")
    name = newsletter.get("name", "") if isinstance(newsletter, dict) else ""
    return _one_line(str(data.get("subject") or data.get("title") or name or ""))


def _one_line(text: str) -> str:
    """``text`` with all whitespace runs as single spaces.

    issue.json holds plain text: a title whose words read "&amp;" (a feed that escaped it
    twice) says so on the page, so the Subject says so too rather than decoding it again."""
    return " ".join(text.split())
