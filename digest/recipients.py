"""Who gets the issue: the recipients CSV, address checks, and address files to suppress.

The CSV has a header row with an ``email`` column, an optional ``name`` column, and any
other columns, which become per-recipient fields (``%%COLUMN%%`` in a template, upper
case). Bad addresses are reported and skipped; duplicates are dropped case-insensitively
(the first one wins).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from .errors import SendError


class InvalidAddress(ValueError):
    """An address that cannot be mailed; ``str()`` says why."""


@dataclass(frozen=True)
class Recipient:
    """One subscriber: a checked address, a display name and the CSV's other columns."""

    email: str
    name: str = ""
    fields: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def key(self) -> str:
        """The address as the send log and the suppression list know it (lower case)."""
        return self.email.lower()


@dataclass
class RecipientList:
    """The loaded recipients, and what was left out of the file and why."""

    recipients: list[Recipient]
    invalid: list[str] = field(default_factory=list)  # "file:line: address: reason"
    duplicates: int = 0


def check_address(address: str) -> str:
    """``address`` normalized (domain lower-cased, IDN as ASCII); ``InvalidAddress`` if bad.

    Addresses that need SMTPUTF8 (a non-ASCII local part) are refused: few relays take them.
    """
    try:
        checked = validate_email(address.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidAddress(str(exc)) from None
    return checked.ascii_email or checked.normalized


def load_recipients(path: Path) -> RecipientList:
    """Read the recipients CSV at ``path``; ``SendError`` if it cannot be used at all."""
    rows = _read_rows(path)
    result = RecipientList([])
    seen: set[str] = set()
    for line, row in rows:
        raw = (row.pop("email", "") or "").strip()
        try:
            email = check_address(raw)
        except InvalidAddress as exc:
            result.invalid.append(f"{path}:{line}: {raw!r}: {exc}")
            continue
        if email.lower() in seen:
            result.duplicates += 1
            continue
        seen.add(email.lower())
        name = " ".join((row.pop("name", "") or "").split())
        fields = {k: (v or "").strip() for k, v in row.items() if k}
        result.recipients.append(Recipient(email, name, fields))
    return result


def _read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row with lower-cased column names) for every data row of the CSV."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            columns = [(c or "").strip().lower() for c in reader.fieldnames or []]
            if "email" not in columns:
                found = ",".join(reader.fieldnames or [])
                raise SendError(
                    f"{path}: the first row must name the columns, separated by commas, one of them "
                    f"'email' (the first row is {found!r})"
                )
            reader.fieldnames = columns
            rows = [(reader.line_num, dict(row)) for row in reader]
            return [(n, row) for n, row in rows if any((v or "").strip() for v in row.values())]
    except FileNotFoundError:
        raise SendError(f"{path}: recipients file not found (recipients.csv in sources.yaml)") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SendError(f"{path}: cannot read the recipients file: {exc}") from None


def read_addresses(path: Path) -> tuple[list[str], list[str]]:
    """Addresses in ``path`` (one a line, ``#`` comments, or a CSV with an ``email`` column),
    and a message for each line that is not a valid address."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SendError(f"{path}: cannot read: {exc}") from None
    header = next(csv.reader(lines[:1]), [])
    if "email" in [c.strip().lower() for c in header]:  # a CSV export: the same reader as the list
        rows = [(n, row.get("email") or "") for n, row in _read_rows(path)]
    else:
        rows = [(n, line.split("#", 1)[0]) for n, line in enumerate(lines, 1)]
    good, bad = [], []
    for number, raw in rows:
        if not raw.strip():
            continue
        try:
            good.append(check_address(raw))
        except InvalidAddress as exc:
            bad.append(f"{path}:{number}: {raw.strip()!r}: {exc}")
    return good, bad
