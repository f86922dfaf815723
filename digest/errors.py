"""One error hierarchy: each error carries a message written for the user.

``cli.py`` turns any ``DigestError`` into one line on stderr and its ``exit_code``.
"""

from __future__ import annotations


class DigestError(Exception):
    """Base class: ``str(error)`` is what the user reads."""

    exit_code = 1


class ConfigError(DigestError):
    """The configuration is invalid: the message names file, line, key and what is allowed."""

    exit_code = 2


class FetchError(DigestError):
    """One source could not be fetched; recorded in ``stats.feeds_failed``, never fatal."""


class ParseError(DigestError):
    """A feed body could not be parsed into entries."""


class BuildError(DigestError):
    """Nothing could be built (no items, every feed failed, ...)."""

    exit_code = 3


class NothingNew(BuildError):
    """Items came in, but no story is new and recent enough for the issue: a quiet day.
    ``reason`` says why without the day, for a message that names the day itself;
    ``hint`` what an editor building by hand may try (a daily run has no use for it)."""

    def __init__(self, day: str, reason: str, hint: str = "") -> None:
        super().__init__(f"no stories for {day}: {reason}{f' ({hint})' if hint else ''}")
        self.reason = reason


class TemplateError(DigestError):
    """A template or its MJML is broken: the message names the file and line."""

    exit_code = 4


class StateError(DigestError):
    """The state store could not be opened or is locked by another run."""

    exit_code = 5


class SendError(DigestError):
    """Sending failed as a whole (bad password, unreachable relay, missing issue)."""

    exit_code = 6
