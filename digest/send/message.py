"""One recipient's copy of an issue: MIME parts, bulk-sender headers, links, DKIM.

The message is multipart/alternative (text/plain first, then text/html), UTF-8 and
quoted-printable; non-ASCII text in the Subject and display names is RFC 2047 encoded
(``encode_headers``). The per-recipient placeholders of ``render`` (and ``%%NAME%%``
and any CSV column as ``%%COLUMN%%``) are filled in both bodies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import logging
import os
import re
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import quote

from ..config import Config
from ..errors import ConfigError
from ..recipients import Recipient
from ..render import MANAGE, PLACEHOLDER, RECIPIENT, UNSUBSCRIBE
from .issue import IssueFiles

log = logging.getLogger(__name__)
# A value stored with ``set_raw`` (encoded here, see ``encode_headers``) is written as it is.
POLICY = policy.SMTP.clone(refold_source="none")
ENCODED_LINE = 76  # RFC 2047: a line with encoded-words is at most 76 characters
SIGNED_HEADERS = (
    "From", "To", "Subject", "Date", "Message-ID", "Reply-To", "List-Id",
    "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version", "Content-Type",
)  # fmt: skip
_LIST_ID = re.compile(r"(.*\S)\s*(<[\x21-\x7e]+>)")  # RFC 2919: "phrase <list-id>"


def unsubscribe_token(email: str, secret: str) -> str:
    """The ``{token}`` of ``email``: an HMAC-SHA256 of the lower-cased address, 22 URL-safe
    characters. An unsubscribe page checks it with ``verify_token``."""
    digest = hmac.new(secret.encode(), email.strip().lower().encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def verify_token(email: str, token: str, secret: str) -> bool:
    """Whether ``token`` is the unsubscribe token of ``email`` under ``secret``."""
    return hmac.compare_digest(unsubscribe_token(email, secret), token)


@dataclass(frozen=True)
class Links:
    """One recipient's links: for the body, and for the List-Unsubscribe header."""

    unsubscribe: str
    manage: str
    header: tuple[str, ...]  # https first, then mailto
    one_click: bool  # an https URL is present: RFC 8058 List-Unsubscribe-Post applies


class Composer:
    """Builds each recipient's message for one issue; set up once, used per recipient."""

    def __init__(self, config: Config, issue: IssueFiles) -> None:
        self.config, self.issue = config, issue
        sender = config.newsletter.sender
        self.sender = Address(sender.name or config.newsletter.name, addr_spec=sender.email)
        self.domain = sender.email.rpartition("@")[2]
        self.secret = token_secret(config)
        self.signer = DkimSigner.from_config(config, self.domain)
        # What is the same for every recipient is encoded once, not 5,000 times.
        self.text, self.html = _crlf(issue.text), _crlf(issue.html)
        common = [("From", self.sender), ("Reply-To", config.newsletter.reply_to)]
        self.head = {
            test: encode_headers([*common, ("Subject", f"[TEST] {issue.subject}" if test else issue.subject)])
            for test in (False, True)
        }
        self.list_head = encode_headers([("List-Id", list_id(config))])
        if self.domain == "localhost":  # the default of newsletter.sender
            log.warning(
                "newsletter.sender.email is %s: relays and mailbox providers refuse or bin mail "
                "from @localhost; set it to an address of your domain",
                sender.email,
            )
        unsubscribe_url = link_templates(config)[0]
        if not unsubscribe_url.startswith("https://"):
            log.warning(
                "recipients.unsubscribe_url %s: List-Unsubscribe has no one-click "
                "(RFC 8058) link, which large mailbox providers expect from bulk senders",
                "is not an https URL" if unsubscribe_url else "is not set",
            )

    def links(self, email: str) -> Links:
        """The unsubscribe and manage links of ``email``, ``{email}`` and ``{token}`` filled."""
        url, manage, mailto = (self._fill(t, email) for t in link_templates(self.config))
        if not (url or mailto):  # never a message without a way out
            newsletter = self.config.newsletter
            mailto = newsletter.reply_to or newsletter.sender.email
        if mailto:
            mailto = mailto if mailto.startswith("mailto:") else f"mailto:{mailto}"
            mailto = mailto if "?" in mailto else f"{mailto}?subject=unsubscribe"
        header = tuple(u for u in (url, mailto) if u)
        return Links(url or mailto, manage or url or mailto, header, url.startswith("https://"))

    def _fill(self, template: str, email: str) -> str:
        if "{token}" in template:
            template = template.replace("{token}", unsubscribe_token(email, self.secret or ""))
        return template.replace("{email}", quote(email, safe="@"))

    def compose(self, recipient: Recipient, test: bool = False) -> bytes:
        """The message for ``recipient`` as bytes on the wire (CRLF, DKIM-signed if set up).

        ``test`` marks the subject ``[TEST]`` and gives a fresh Message-ID.
        """
        links = self.links(recipient.email)
        values = self._values(recipient, links)
        own = encode_headers([
            ("To", Address(recipient.name, addr_spec=recipient.email)),
            ("Date", format_datetime(datetime.now(UTC))),
            ("Message-ID", make_msgid(domain=self.domain) if test else self._message_id(recipient)),
        ])  # fmt: skip
        one_click = b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" if links.one_click else b""
        text = fill_placeholders(self.text, values, escape=False)
        html_body = fill_placeholders(self.html, values, escape=True)
        head = self.head[test] + own + self.list_head + list_unsubscribe(links.header) + one_click
        data = head + alternative(text, html_body)
        return self.signer.sign(data) if self.signer else data

    def _values(self, recipient: Recipient, links: Links) -> dict[str, str]:
        # One line each: a value never brings a line break into the CRLF bodies.
        fields = {field_name(k): " ".join(v.split()) for k, v in recipient.fields.items()}
        return {
            **fields,
            "NAME": recipient.name,
            RECIPIENT.strip("%"): recipient.email,
            UNSUBSCRIBE.strip("%"): links.unsubscribe,
            MANAGE.strip("%"): links.manage,
        }

    def _message_id(self, recipient: Recipient) -> str:
        """The same for one issue and recipient on every attempt, so a resent copy can be
        recognized as a duplicate by the receiving side."""
        digest = hashlib.sha256(f"{self.issue.key}\0{recipient.key}".encode()).hexdigest()[:24]
        return f"<{self.issue.key}.{digest}@{self.domain}>"


def encode_headers(headers: list[tuple[str, object]]) -> bytes:
    """Header lines (CRLF-terminated), folded by the email package.

    Non-ASCII text is RFC 2047-encoded here, not by the email package's folder, which
    drops the spaces between some adjacent encoded-words (CPython gh-144156): a Subject
    "exports — café société" arrived as "exports  —cafésociété".
    """
    message = EmailMessage(policy=POLICY)
    for name, value in headers:
        if not value:
            continue
        encoded = _encoded(name, value)
        if encoded is None:  # ASCII: the email package folds it well
            message[name] = value
        else:
            message.set_raw(name, encoded)
    return message.as_bytes().rstrip(b"\r\n") + b"\r\n"


def _encoded(name: str, value: object) -> str | None:
    """The value of header ``name``, folded, its non-ASCII text as encoded-words (an
    ``Address``'s display name, ``List-Id``'s phrase, else the whole text); None if it
    is plain ASCII."""
    if isinstance(value, Address):
        if _plain(value.display_name):
            return None
        return _phrase_then(name, value.display_name, f"<{value.addr_spec}>")
    text = str(value)
    if _plain(text):
        return None
    bracketed = _LIST_ID.fullmatch(text) if name.lower() == "list-id" else None
    if bracketed:  # the identifier stays readable: filters match on it
        return _phrase_then(name, bracketed[1], bracketed[2])
    return _encoded_words(name, text)


def _plain(text: str) -> bool:
    """Whether ``text`` can go as it is: ASCII, and nothing a reader would decode."""
    return text.isascii() and "=?" not in text


def _encoded_words(name: str, text: str) -> str:
    """``text`` as UTF-8 encoded-words folded for header ``name``; the spaces are encoded
    inside the words, so every RFC 2047 decoder reads ``text`` back exactly."""
    return Header(text, "utf-8", maxlinelen=ENCODED_LINE, header_name=name).encode(linesep="\r\n")


def _phrase_then(name: str, phrase: str, tail: str) -> str:
    """``phrase`` as encoded-words, then ``tail`` (``<address>``) on the last line if it
    fits, else on a line of its own.

    A name too long for one encoded-word (some 45 bytes of UTF-8) takes several; mail
    clients join them, but CPython's own address parser reads a space between them
    (gh-128110, a decoding bug: the Subject's parser is right)."""
    words = _encoded_words(name, phrase)
    last = words.rpartition("\r\n")[2] if "\r\n" in words else f"{name}: {words}"
    fits = len(last) + 1 + len(tail) <= ENCODED_LINE
    return words + (" " if fits else "\r\n ") + tail


def list_unsubscribe(uris: tuple[str, ...]) -> bytes:
    """The List-Unsubscribe header line, folded between the URIs.

    Written by hand: the email package would RFC 2047-encode a URL longer than a line,
    which no client reads as a link.
    """
    ascii_uris = [quote(uri, safe=string.punctuation) for uri in uris]
    return ("List-Unsubscribe: " + ",\r\n ".join(f"<{u}>" for u in ascii_uris) + "\r\n").encode("ascii")


def alternative(text: str, html_body: str) -> bytes:
    """The multipart/alternative body: text/plain first, then text/html, both UTF-8 and
    quoted-printable (the bodies already have CRLF line ends), the MIME-Version and
    Content-Type headers in front.

    Built directly (binascii's C encoder), not through ``EmailMessage.set_content``,
    which costs ten times as much per recipient. The boundary starts with ``=_``, which
    quoted-printable data can never contain.
    """
    boundary = f"=_digest_{secrets.token_hex(12)}"
    parts = [
        b"MIME-Version: 1.0\r\n",
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n'.encode(),
    ]
    for subtype, body in (("plain", text), ("html", html_body)):
        parts.append(
            f'--{boundary}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode()
        )
        parts.append(
            binascii.b2a_qp(body.encode("utf-8"), istext=True) + b"\r\n"
        )  # this CRLF belongs to the boundary
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


def _crlf(text: str) -> str:
    return re.sub(r"\r?\n", "\r\n", text)


def fill_placeholders(body: str, values: dict[str, str], escape: bool) -> str:
    """``body`` with each ``%%NAME%%`` replaced (HTML-escaped if ``escape``); one this
    reader has no value for (an empty cell, a test address not in the recipients file)
    takes its fallback (``%%NAME|there%%``, written as the body is) or is left empty.
    ``check_fields`` has made sure that some column of the file gives each."""

    def value(match: re.Match[str]) -> str:
        found = values.get(match.group(1), "").strip()
        if not found:
            return match.group(2) or ""
        return html.escape(found) if escape else found

    return PLACEHOLDER.sub(value, body)


def field_name(column: str) -> str:
    """The ``%%FIELD%%`` a recipients file's column fills: "first name" is FIRST_NAME."""
    return re.sub(r"\W", "_", column).upper()


OWN_FIELDS = frozenset({"NAME", "EMAIL", "UNSUBSCRIBE_URL", "MANAGE_URL"})  # what send fills itself


def check_fields(issue: IssueFiles, recipients: Iterable[Recipient]) -> None:
    """``ConfigError`` if the issue uses a ``%%FIELD%%`` that neither send nor any column
    of the recipients file fills: every reader would get the placeholder as it is."""
    columns = {field_name(column) for recipient in recipients for column in recipient.fields}
    used = {m.group(1) for body in (issue.html, issue.text) for m in PLACEHOLDER.finditer(body)}
    missing = sorted(used - OWN_FIELDS - columns)
    if missing:
        fields = ", ".join(f"%%{name}%%" for name in missing)
        known = ", ".join(f"%%{name}%%" for name in sorted(OWN_FIELDS | columns))
        raise ConfigError(
            f"{issue.folder}: the issue uses {fields}, which no column of the recipients file fills "
            f"(it can use {known}); add the column, or take it out of the template or greeting"
        )


def token_secret(config: Config) -> str | None:
    """The HMAC secret, required only when a link uses ``{token}``."""
    recipients = config.recipients
    keys = ("unsubscribe_url", "manage_url", "unsubscribe_mailto")
    users = [key for key, t in zip(keys, link_templates(config)) if "{token}" in t]
    if recipients is None or not users:
        return None
    secret = os.environ.get(recipients.secret_env, "")
    if len(secret) < 16:
        state = f"holds only {len(secret)} characters" if secret else "is not set"
        raise ConfigError(
            f"recipients.{users[0]} uses {{token}} but the environment variable {recipients.secret_env} "
            f"{state}: set it to a random secret of 16+ characters (the one your unsubscribe page "
            "checks tokens with)"
        )
    return secret


def link_templates(config: Config) -> tuple[str, str, str]:
    """The configured unsubscribe URL, manage URL and unsubscribe mailto ("" where unset)."""
    recipients = config.recipients
    if recipients is None:
        return "", "", ""
    return recipients.unsubscribe_url, recipients.manage_url, recipients.unsubscribe_mailto


def list_id(config: Config) -> str:
    """``List-Id`` (RFC 2919): recipients.list_id, else the name and a list identifier
    under the sender's domain."""
    if config.recipients and config.recipients.list_id:
        return config.recipients.list_id
    name = config.newsletter.name
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "newsletter"
    return f"{name} <{slug}.{config.newsletter.sender.email.rpartition('@')[2]}>"


class DkimSigner:
    """Signs messages with the configured key (relaxed/relaxed, rsa-sha256)."""

    def __init__(self, key: bytes, selector: str, domain: str) -> None:
        import dkim

        self._dkim, self.key, self.selector, self.domain = dkim, key, selector.encode(), domain.encode()
        try:  # a broken key fails now, as one line, not on the first recipient
            self.sign(b"From: a@b\r\nSubject: check\r\n\r\nx\r\n")
        except dkim.DKIMException as exc:
            raise ConfigError(f"smtp.dkim_key: cannot sign with this key: {exc}") from None

    @classmethod
    def from_config(cls, config: Config, domain: str) -> DkimSigner | None:
        """The signer set up by ``smtp.dkim_key`` and ``smtp.dkim_selector``, or None."""
        smtp = config.smtp
        if not (smtp.dkim_key and smtp.dkim_selector):
            return None
        path = config.resolve(smtp.dkim_key)
        try:
            key = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"smtp.dkim_key: cannot read {path}: {exc.strerror}") from None
        return cls(key, smtp.dkim_selector, smtp.dkim_domain or domain)

    def sign(self, message: bytes) -> bytes:
        """``message`` with a DKIM-Signature header in front."""
        present = {
            line.split(b":", 1)[0].strip().lower() for line in message.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        }
        headers = [h.encode() for h in SIGNED_HEADERS if h.lower().encode() in present]
        signature = self._dkim.sign(
            message, self.selector, self.domain, self.key,
            canonicalize=(b"relaxed", b"relaxed"), include_headers=headers or None,
        )  # fmt: skip
        return signature + message
