"""Parse and normalize one fetched feed: the unit of work of a parse worker process.

Kept apart from ``build`` so that a worker process imports only what parsing
needs, not the deduplicator's numerical stack.
"""

from __future__ import annotations

from datetime import datetime

from .errors import ParseError
from .models import Fetched
from .normalize import Normalized, normalize_counted
from .parse import Parsed, read_feed


def ingest(job: tuple[Fetched, str, datetime]) -> Normalized | str:
    """The items of one fetched feed in ``section`` (and what was left out), or why
    there are none."""
    result, section, fetched_at = job
    found = entries(result)
    if isinstance(found, str):
        return found
    try:
        normalized = normalize_counted(found.entries, result.source, fetched_at, section)
    except Exception as exc:  # noqa: BLE001 -- one feed no rule foresaw fails alone
        return _unforeseen(exc)
    normalized.warning = found.warning
    return normalized


def entries(result: Fetched) -> Parsed | str:
    """The entries of one fetched feed, or why there are none: the fetch's error or the
    parser's, and for a feed that breaks the parser in a way nobody foresaw, the
    exception's, so that this feed fails alone and the issue is still built."""
    if result.error:
        return result.error
    try:
        return read_feed(result.body or b"", result.source.name, result.base or result.url)
    except ParseError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001
        return _unforeseen(exc)


def _unforeseen(exc: Exception) -> str:
    return f"could not read the feed ({type(exc).__name__}: {exc})"
