"""Parse and normalize one fetched feed: the unit of work of a parse worker process.

Kept apart from ``build`` so that a worker process imports only what parsing
needs, not the deduplicator's numerical stack.
"""

from __future__ import annotations

from datetime import datetime

from .errors import ParseError
from .models import Fetched, Item
from .normalize import normalize
from .parse import parse_feed


def ingest(job: tuple[Fetched, str, datetime]) -> list[Item] | str:
    """The items of one fetched feed in ``section``, or why there are none."""
    result, section, fetched_at = job
    if result.error:
        return result.error
    try:
        entries = parse_feed(result.body or b"", result.source.name, result.url)
    except ParseError as exc:
        return str(exc)
    return normalize(entries, result.source, fetched_at, section)
