"""The preview's own pages (templates/preview/) and the send preview's headers.

The send preview shows the headers a subscriber's copy will carry, with the
per-recipient placeholders filled for a sample recipient (the first in the recipients
file). ``digest send`` owns the real message: the preview asks its ``Composer`` to build
it; where sending would stop (a missing secret or DKIM key), the preview still shows
the headers it can, from the same helpers, and says why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.utils import formataddr
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import jinja2

from ..config import Config
from ..errors import DigestError
from ..render import MANAGE, RECIPIENT, UNSUBSCRIBE, builtin_templates

if TYPE_CHECKING:
    from ..recipients import Recipient

SAMPLE_RECIPIENT = "reader@example.com"


@cache
def _environment() -> jinja2.Environment:
    folder = builtin_templates() / "preview"
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_page(name: str, **context: Any) -> str:
    """Render the preview page ``name`` (a file in templates/preview/)."""
    return _environment().get_template(name).render(context)


@dataclass
class SendPreview:
    """The headers of one recipient's copy and the placeholders filled in it."""

    recipient: str
    headers: list[tuple[str, str]]
    substitutions: list[tuple[str, str]]
    notes: list[str] = field(default_factory=list)


SHOWN_HEADERS = ("From", "To", "Reply-To", "Subject", "Date", "Message-ID", "List-Unsubscribe",
                 "List-Unsubscribe-Post", "List-Id")  # fmt: skip


def send_preview(config: Config, folder: Path, address: str = "") -> SendPreview:
    """What ``digest send`` would put in the headers of ``address``'s copy of the issue in
    ``folder`` (default: the first recipient); computed here if sending would stop."""
    from ..send import Composer, load_issue

    try:
        issue = load_issue(folder)
        recipient = _recipient(config, address)
        composer = Composer(config, issue)
        message = message_from_bytes(composer.compose(recipient), policy=policy.default)
    except (DigestError, ValueError) as exc:
        return _computed(config, folder, address, f"digest send would stop here: {exc}")
    links = composer.links(recipient.email)
    headers = [(name, str(message[name])) for name in SHOWN_HEADERS if message[name] is not None]
    substitutions = [(UNSUBSCRIBE, links.unsubscribe), (MANAGE, links.manage), (RECIPIENT, recipient.email),
                     ("%%NAME%%", recipient.name)]  # fmt: skip
    notes = ["Built by digest send's own composer; the Date is set when the message is sent."]
    if not links.one_click:
        notes.append("No https recipients.unsubscribe_url: no one-click unsubscribe (RFC 8058).")
    if message["DKIM-Signature"] is not None:
        notes.append("The message is DKIM-signed.")
    return SendPreview(recipient.email, headers, substitutions, notes)


def _recipient(config: Config, address: str) -> Recipient:
    """``address`` as a recipient, else the first of the recipients file, else an example."""
    from ..recipients import Recipient, check_address, load_recipients

    if address:
        return Recipient(check_address(address))
    if config.recipients is not None:
        found = load_recipients(config.resolve(config.recipients.csv)).recipients
        if found:
            return found[0]
    return Recipient(SAMPLE_RECIPIENT)


def _computed(config: Config, folder: Path, address: str, note: str) -> SendPreview:
    """The headers as far as they do not need what stops the send (its secret, its key)."""
    from ..send.issue import issue_subject
    from ..send.message import link_templates, list_id

    recipient = address or SAMPLE_RECIPIENT
    unsubscribe, manage, mailto = (_personal(t, recipient) for t in link_templates(config))
    if not (unsubscribe or mailto):  # as digest.send does: never a message without a way out
        mailto = config.newsletter.reply_to or config.newsletter.sender.email
    if mailto:
        mailto = f"mailto:{mailto.removeprefix('mailto:')}?subject=unsubscribe"
    sender = config.newsletter.sender
    headers = [
        ("From", formataddr((sender.name or config.newsletter.name, sender.email))),
        ("To", recipient),
        ("Subject", issue_subject(read_issue(folder)) or config.newsletter.name),
        ("List-Unsubscribe", ", ".join(f"<{u}>" for u in (unsubscribe, mailto) if u)),
    ]
    if unsubscribe.startswith("https://"):
        headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    headers.append(("List-Id", list_id(config)))
    substitutions = [(UNSUBSCRIBE, unsubscribe or mailto), (MANAGE, manage or unsubscribe or mailto),
                     (RECIPIENT, recipient)]  # fmt: skip
    return SendPreview(recipient, headers, substitutions, [note])


def _personal(template: str, recipient: str) -> str:
    return template.replace("{email}", quote(recipient, safe="@"))


def read_issue(folder: Path) -> dict[str, Any]:
    """The issue.json of ``folder`` (empty if it cannot be read)."""
    try:
        return json.loads((folder / "issue.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
