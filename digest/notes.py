"""The editor's per-issue notes for the lead story: a small Markdown file.

Format (path from ``notes:`` in sources.yaml, ``{date}`` replaced by the issue date)::

    ## What we think
    A paragraph, or bullets:
    - first point
    - second point

    ## Poll
    Do you think AI tools should be open to the public?
    - Yes
    - No

Each level-2 heading starts a block, shown under the lead story in the file's order
with its heading (e.g. "What we think", "What you can do right now"). Two headings are
special: ``Intro`` replaces the issue's intro paragraph at the top, and ``Poll`` is
shown as a poll: its paragraph is the question, its bullets the answers (reply links
when the newsletter has a reply address). Text before the first heading is an untitled
block. A missing file, or an empty block, leaves no heading behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError


@dataclass
class NoteBlock:
    """One titled block of notes: paragraphs then bullets, in the file's order."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)

    @property
    def is_poll(self) -> bool:
        """Whether the block is a poll (its heading is "Poll")."""
        return self.title.strip().lower() == "poll"


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


def parse_notes(text: str) -> Notes:
    """Parse the notes Markdown into blocks, dropping empty ones."""
    blocks = [NoteBlock("")]
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks[-1].paragraphs.append(" ".join(paragraph))
            paragraph.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("## "):
            flush()
            blocks.append(NoteBlock(line[3:].strip()))
        elif line[:2] in ("- ", "* "):
            flush()
            blocks[-1].bullets.append(line[2:].strip())
        elif not line:
            flush()
        else:
            paragraph.append(line.lstrip("# "))
    flush()
    return [b for b in blocks if b.paragraphs or b.bullets]
