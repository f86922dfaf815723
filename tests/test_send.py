"""Sending against a real SMTP server on 127.0.0.1 (aiosmtpd), with scripted replies.

The server (``smtp_server`` fixture) records every accepted message; a test scripts its
replies with ``smtp_server.on = lambda stage, address, n: ...`` returning None (carry
on), an SMTP reply ("451 ..."), ``DROP`` (close the connection) or ``HOLD`` (stall until
the test releases it). Issue folders are written by hand into tmp_path.
"""

from __future__ import annotations

import asyncio
import email
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from digest.config import Config, Sender, load_config
from digest.errors import ConfigError, SendError
from digest.recipients import Recipient
from digest.send import (
    find_issue,
    load_issue,
    send_issue,
    send_test,
    unsubscribe_token,
    verify_token,
    write_dry_run,
)
from digest.send.message import Composer, fill_placeholders
from digest.send.transport import RateLimiter
from digest.store import Store

SECRET = "s3cret-for-tests-0123456789"
DATE = "2025-06-14"
TITLE = "R&D at Café ☕ — 🚀 launches"
SUBJECT = TITLE
DROP, HOLD = "DROP", "HOLD"
DEADLINE = 20.0


# -- the SMTP server ---------------------------------------------------------------
class ScriptedHandler:
    """An aiosmtpd handler that records accepted messages and replies as scripted."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.on: Callable[[str, str, int], str | None] = lambda stage, address, n: None
        self.down = False  # EHLO answers 421: the relay refuses new sessions
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.holding = threading.Event()
        self.release = threading.Event()

    async def _react(self, stage: str, address: str, server: Any) -> str | None:
        with self.lock:
            self.calls[stage] += 1
            reply = self.on(stage, address, len(self.messages))
        if reply == DROP:
            server.transport.close()
            return "421 4.4.2 dropped"
        if reply == HOLD:
            self.holding.set()
            while not self.release.is_set():  # the test kills the client meanwhile
                await asyncio.sleep(0.01)
            return "421 4.4.2 released"
        return reply

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ):
        self.calls["EHLO"] += 1
        session.host_name = hostname  # the hook's duty, as aiosmtpd documents
        return ["421 4.3.2 service not available"] if self.down else responses

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]):
        reply = await self._react("MAIL", address, server)
        if reply:
            return reply
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]):
        reply = await self._react("RCPT", address, server)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await self._react("DATA", envelope.rcpt_tos[0], server)
        if reply:
            return reply
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 queued"

    def delivered(self) -> Counter[str]:
        """How many messages each recipient got."""
        return Counter(rcpt.lower() for _, rcpts, _ in self.messages for rcpt in rcpts)

    def parsed(self) -> dict[str, EmailMessage]:
        """The accepted messages parsed, by recipient."""
        return {
            rcpts[0].lower(): email.message_from_bytes(data, policy=policy.default)  # type: ignore[misc]
            for _, rcpts, data in self.messages
        }


class SmtpServer:
    """A running aiosmtpd on a free loopback port; ``handler`` scripts it."""

    def __init__(self, handler: ScriptedHandler, **kwargs: Any) -> None:
        self.handler = handler
        self.port = free_port()
        self.controller = Controller(handler, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.handler, name)

    @property
    def on(self) -> Callable[[str, str, int], str | None]:
        return self.handler.on

    @on.setter
    def on(self, script: Callable[[str, str, int], str | None]) -> None:
        self.handler.on = script

    def stop(self) -> None:
        self.handler.release.set()
        self.controller.stop()


def once_at(stage: str, n: int, reply: str) -> Callable[[str, str, int], str | None]:
    """A script for ``SmtpServer.on``: ``reply`` to the ``n``-th command ``stage``, once."""
    done: list[bool] = []

    def script(at: str, address: str, count: int) -> str | None:
        if at == stage and count == n and not done:
            done.append(True)
            return reply
        return None

    return script


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server on 127.0.0.1 (no TLS, no AUTH)."""
    server = SmtpServer(ScriptedHandler())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA): (cert.pem, key.pem)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def server_tls(certificate: tuple[Path, Path]) -> Any:
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


# -- issues, recipients and configs ------------------------------------------------
HTML = """<!doctype html><html><body><h1>{title}</h1>
<p>Hello %%NAME%% from %%CITY%% (%%EMAIL%%) &amp; friends</p>
<a href="%%MANAGE_URL%%">Manage</a> <a href="%%UNSUBSCRIBE_URL%%">Unsubscribe</a>
</body></html>
"""
TEXT = """{title}

Hello %%NAME%%.
Manage preferences: %%MANAGE_URL%%
Unsubscribe: %%UNSUBSCRIBE_URL%%
"""


def write_issue(out: Path, date: str = DATE, title: str = TITLE) -> Path:
    """An issue folder as ``publish`` writes it (only what ``send`` reads)."""
    folder = out / date
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "email.html").write_text(HTML.replace("{title}", "Today&#39;s issue"), encoding="utf-8")
    (folder / "email.txt").write_text(TEXT.replace("{title}", "Today's issue"), encoding="utf-8")
    data = {"newsletter": {"name": "Test Digest"}, "number": 1, "date": date, "title": title, "sections": []}
    (folder / "issue.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return folder


def write_recipients(path: Path, count: int) -> list[str]:
    """A recipients CSV of ``count`` people (with a ``city`` column); their addresses."""
    emails = [f"reader{n}@example.com" for n in range(count)]
    lines = ["email,name,city"] + [f"{e},Zoë Nº{n},Zürich" for n, e in enumerate(emails)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return emails


@pytest.fixture
def make_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Config]:
    """Write sources.yaml for a server port (smtp keys as keywords) and load it."""
    monkeypatch.setenv("DIGEST_UNSUBSCRIBE_SECRET", SECRET)

    def make(port: int, recipients: int = 5, **smtp: Any) -> Config:
        write_recipients(tmp_path / "subscribers.csv", recipients)
        data = {
            "newsletter": {
                "name": "Test Digest",
                "sender": {"name": "Ünïcode Sender", "email": "news@digest.example"},
                "reply_to": "editor@digest.example",
            },
            "sources": [{"name": "Local", "path": "feed.xml"}],
            "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5, "retries": 3,
                     "backoff": 0.01, "rate_per_second": 1000, "rate_per_minute": 100000, **smtp},
            "recipients": {
                "csv": "subscribers.csv",
                "unsubscribe_url": "https://digest.example/unsubscribe?e={email}&t={token}",
                "manage_url": "https://digest.example/manage?e={email}&t={token}",
                "unsubscribe_mailto": "leave@digest.example",
            },
            "state": "state/state.sqlite",
        }  # fmt: skip
        (tmp_path / "sources.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return load_config(tmp_path / "sources.yaml")

    return make


@pytest.fixture
def issue_folder(tmp_path: Path) -> Path:
    return write_issue(tmp_path / "out")


def open_state(config: Config) -> Store:
    return Store(config.resolve(config.state))


def send(config: Config, folder: Path, **options: Any) -> Any:
    """Send like ``digest send`` does, with a fresh connection to the state."""
    with open_state(config) as store:
        return send_issue(config, load_issue(folder), store, **options)


def log_rows(config: Config) -> dict[str, tuple[str, int, str]]:
    with open_state(config) as store:
        return {email: (status, attempts, reply) for email, status, attempts, reply in store.send_log(DATE)}


def field_lines(raw: bytes, name: str) -> list[str]:
    """The physical lines of header field ``name`` in the message ``raw`` (folded as sent)."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")
    start = next(n for n, line in enumerate(head) if line.lower().startswith(f"{name.lower()}:"))
    end = next((n for n in range(start + 1, len(head)) if head[n][:1] not in " \t"), len(head))
    return head[start:end]


def wait_for(condition: Callable[[], bool], deadline: float = DEADLINE) -> None:
    """Poll ``condition`` until it holds; fail at the deadline."""
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, "timed out waiting"
        time.sleep(0.01)


# -- the messages --------------------------------------------------------------------
def test_each_recipient_gets_one_message_with_headers_and_parts(smtp_server, make_config, issue_folder):
    config = make_config(smtp_server.port, recipients=5)
    with open_state(config) as store:
        store.issue_number(DATE, DATE)  # the issue row that build would have made

    summary = send(config, issue_folder)

    assert summary.sent == 5 and summary.ok
    assert smtp_server.delivered() == {f"reader{n}@example.com": 1 for n in range(5)}
    assert smtp_server.calls["EHLO"] == 1  # one connection for all
    message_ids = set()
    for sender, _, raw in smtp_server.messages:
        raw.decode("ascii")  # headers RFC 2047-encoded, bodies quoted-printable: pure ASCII
        assert sender == "news@digest.example"
        msg = email.message_from_bytes(raw, policy=policy.default)
        address = msg["To"].addresses[0]
        assert address.display_name.startswith("Zoë Nº") and address.addr_spec.startswith("reader")
        assert msg["From"].addresses[0].display_name == "Ünïcode Sender"
        assert str(msg["Subject"]) == SUBJECT
        assert str(msg["Reply-To"]) == "editor@digest.example"
        assert msg["Date"].datetime is not None
        assert msg["List-Id"] == "Test Digest <test-digest.digest.example>"
        token = unsubscribe_token(address.addr_spec, SECRET)
        unsubscribe = f"https://digest.example/unsubscribe?e={address.addr_spec}&t={token}"
        assert (
            msg["List-Unsubscribe"] == f"<{unsubscribe}>, <mailto:leave@digest.example?subject=unsubscribe>"
        )
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        message_ids.add(msg["Message-ID"])
        assert msg.get_content_type() == "multipart/alternative"
        plain, html = msg.get_payload()
        assert plain.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
        assert plain.get_content_charset() == html.get_content_charset() == "utf-8"
        text, page = plain.get_content().replace("\r\n", "\n"), html.get_content()
        assert f"Unsubscribe: {unsubscribe}\n" in text and "Hello Zoë Nº" in text
        assert f'href="{unsubscribe.replace("&", "&amp;")}"' in page
        assert "manage?e=" in page and "Zürich" in page and f"({address.addr_spec})" in page
        assert "%%" not in page and "%%" not in text  # every field filled
    assert len(message_ids) == 5
    assert {status for status, _, _ in log_rows(config).values()} == {"sent"}
    with open_state(config) as store:
        assert store.issue_sent(DATE)


def test_resend_finds_nobody_left(smtp_server, make_config, issue_folder):
    config = make_config(smtp_server.port, recipients=3)
    send(config, issue_folder)
    again = send(config, issue_folder)
    assert again.sent == 0 and again.skipped["already sent"] == 3
    assert len(smtp_server.messages) == 3


def test_non_ascii_subjects_and_names_arrive_exactly_as_written(smtp_server, make_config, tmp_path):
    # the email package's folder dropped the spaces between some adjacent encoded-words
    subjects = [
        "Future Blueprint #12: Nvidia and the EU reach a deal on chip exports — café société",
        "Checks ✓ and dashes — between ✓ words — ✓ all of them kept",
        "Résumé de la semaine : l’économie européenne, les élections régionales et la météo à Zürich",
        "Weekly digest #12: the EU and Nvidia reach a deal on chip exports, and what it means for you",
    ]
    names = ["Zoë — café ✓", "Jean-Luc Picard — café société"]  # each fits one encoded-word
    sender = "Ünïcode — Sender ✓"
    config = make_config(smtp_server.port)
    sender_address = Sender(name=sender, email="news@digest.example")
    config = config.model_copy(
        update={"newsletter": config.newsletter.model_copy(update={"sender": sender_address})}
    )
    (tmp_path / "subscribers.csv").write_text(
        "email,name,city\n"
        + "".join(f"reader{n}@example.com,{name},Zürich\n" for n, name in enumerate(names)),
        encoding="utf-8",
    )
    for day, subject in enumerate(subjects, 10):
        send(config, write_issue(tmp_path / "out", f"2025-06-{day}", title=subject))

    assert len(smtp_server.messages) == len(subjects) * len(names)
    for number, (_, (rcpt,), raw) in enumerate(smtp_server.messages):
        raw.decode("ascii")
        for name in ("Subject", "From", "To"):
            assert max(map(len, field_lines(raw, name))) <= 78, field_lines(raw, name)
        msg = email.message_from_bytes(raw, policy=policy.default)
        assert str(msg["Subject"]) == subjects[number // len(names)]
        assert msg["From"].addresses[0].display_name == sender
        assert msg["To"].addresses[0].display_name == names[int(rcpt[6])]


def test_a_reader_without_a_name_gets_the_fields_fallback(smtp_server, make_config, tmp_path):
    # "Hi %%NAME%%," read "Hi ," to every reader whose name cell was empty
    config = make_config(smtp_server.port)
    (tmp_path / "subscribers.csv").write_text(
        "email,name,city\nreader0@example.com,Zoë,Zürich\nreader1@example.com,,\n"
        "reader2@example.com, ,Oslo\n",
        encoding="utf-8",
    )
    folder = write_issue(tmp_path / "out")
    for name, fallback in (("email.html", "Tom &amp; Jerry"), ("email.txt", "Tom & Jerry")):
        path = folder / name
        body = path.read_text(encoding="utf-8").replace("%%NAME%%", f"%%NAME|{fallback}%%")
        path.write_text(body.replace("%%CITY%%", "%%CITY|home%%"), encoding="utf-8")

    assert send(config, folder).sent == 3

    greetings = {}
    for _, (rcpt,), raw in smtp_server.messages:
        plain, html = email.message_from_bytes(raw, policy=policy.default).get_payload()
        text, page = plain.get_content(), html.get_content()
        assert "%%" not in text and "%%" not in page
        greetings[rcpt] = (re.search(r"Hello (.*)\.", text)[1], re.search(r"Hello (.*) \(", page)[1])
    assert greetings == {
        "reader0@example.com": ("Zoë", "Zoë from Zürich"),
        "reader1@example.com": ("Tom & Jerry", "Tom &amp; Jerry from home"),  # as each body writes it
        "reader2@example.com": ("Tom & Jerry", "Tom &amp; Jerry from Oslo"),  # a blank is no name
    }


def test_tokens_verify_and_placeholders_escape():
    token = unsubscribe_token("Reader@Example.com", SECRET)
    assert verify_token("reader@example.com", token, SECRET)
    assert not verify_token("other@example.com", token, SECRET)
    filled = fill_placeholders("<b>%%NAME%%</b> %%OTHER%%", {"NAME": "<Tom & Jerry>"}, escape=True)
    assert filled == "<b>&lt;Tom &amp; Jerry&gt;</b> "  # a field this reader has no value for: empty


def test_token_without_secret_is_one_clear_error(smtp_server, make_config, issue_folder, monkeypatch):
    config = make_config(smtp_server.port)
    monkeypatch.delenv("DIGEST_UNSUBSCRIBE_SECRET")
    with pytest.raises(ConfigError, match="DIGEST_UNSUBSCRIBE_SECRET"):
        send(config, issue_folder)
    assert not smtp_server.messages
    manage_only = config.model_copy(
        update={"recipients": config.recipients.model_copy(update={"unsubscribe_url": ""})}
    )
    with pytest.raises(ConfigError, match=r"^recipients\.manage_url uses \{token\}"):
        send(manage_only, issue_folder)


def test_dkim_signature_verifies(tmp_path, smtp_server, make_config, issue_folder):
    import dkim

    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True, capture_output=True
    ).stdout
    import base64

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    config = make_config(smtp_server.port, recipients=2, dkim_key="dkim.pem", dkim_selector="mail")
    send(config, issue_folder)

    for _, _, raw in smtp_server.messages:
        assert raw.startswith(b"DKIM-Signature:") and b"d=digest.example" in raw[:400]
        assert dkim.verify(
            raw,
            dnsfunc=lambda name, timeout=5: record if name == b"mail._domainkey.digest.example." else None,
        )
        assert b"list-unsubscribe-post" in raw[:600].lower()  # RFC 8058: both headers signed


# -- faults ----------------------------------------------------------------------------
def test_4xx_replies_are_retried_and_each_recipient_gets_one_copy(smtp_server, make_config, issue_folder):
    config = make_config(smtp_server.port, recipients=6)
    failed_once: set[tuple[str, str]] = set()

    def script(stage: str, address: str, n: int) -> str | None:
        plan = {"reader1@example.com": ("RCPT", "451 4.7.1 greylisted"),
                "reader2@example.com": ("MAIL", "421 4.7.0 too many messages, closing"),
                "reader4@example.com": ("DATA", "452 4.3.1 insufficient storage")}  # fmt: skip
        step = plan.get(address.lower())
        if step and step[0] == stage and (address, stage) not in failed_once:
            failed_once.add((address, stage))
            return step[1]
        return None

    smtp_server.on = lambda stage, address, n: script(
        stage, address if stage != "MAIL" else f"reader{n}@example.com", n
    )
    waits: list[float] = []
    summary = send(config, issue_folder, sleep=lambda s: (waits.append(s), time.sleep(s)))

    assert summary.sent == 6 and summary.ok
    assert set(smtp_server.delivered().values()) == {1} and len(smtp_server.delivered()) == 6
    # the 421 closed the session: a pause (one backoff) before the next; a retry already
    # due on a slow machine is sent without a pause, so no other wait comes first
    assert waits[0] == 0.01
    rows = log_rows(config)
    assert rows["reader1@example.com"][:2] == ("sent", 2)
    assert rows["reader4@example.com"][:2] == ("sent", 2)
    assert smtp_server.calls["EHLO"] == 2  # 421 closed the connection: one reconnect


def test_greylisted_recipients_wait_for_their_retry_while_the_rest_of_the_list_is_sent(
    smtp_server, make_config, issue_folder, monkeypatch
):
    config = make_config(smtp_server.port, recipients=5, backoff=0.5)
    composed: Counter[str] = Counter()
    compose = Composer.compose
    monkeypatch.setattr(
        Composer,
        "compose",
        lambda self, r, test=False: (composed.update([r.email]), compose(self, r, test))[1],
    )
    greylisted = {"reader0@example.com", "reader1@example.com"}
    tried: set[str] = set()

    def script(stage: str, address: str, n: int) -> str | None:
        if stage == "RCPT" and address in greylisted and address not in tried:
            tried.add(address)
            return "451 4.7.1 greylisted, try again later"
        return None

    smtp_server.on = script
    waits: list[float] = []
    summary = send(config, issue_folder, sleep=lambda s: (waits.append(s), time.sleep(s)))

    assert summary.sent == 5 and summary.ok
    order = [rcpts[0] for _, rcpts, _ in smtp_server.messages]
    assert order[:3] == ["reader2@example.com", "reader3@example.com", "reader4@example.com"]
    assert set(order[3:]) == greylisted and len(order) == 5
    assert log_rows(config)["reader0@example.com"][:2] == ("sent", 2)
    # both retries waited out one backoff together, not one backoff each
    assert 0 < sum(waits) <= 0.5
    assert set(composed.values()) == {1} and len(composed) == 5  # a retry resends the same message


def test_dropped_connection_reconnects_and_sends_each_once(smtp_server, make_config, issue_folder):
    config = make_config(smtp_server.port, recipients=6)
    smtp_server.on = once_at("MAIL", 3, DROP)
    summary = send(config, issue_folder)
    assert summary.sent == 6
    assert set(smtp_server.delivered().values()) == {1} and len(smtp_server.delivered()) == 6
    assert smtp_server.calls["EHLO"] == 2


def test_relay_gone_mid_batch_stops_and_the_next_run_resumes(smtp_server, make_config, issue_folder):
    config = make_config(smtp_server.port, recipients=8)

    def script(stage: str, address: str, n: int) -> str | None:
        if stage == "MAIL" and n == 3:
            smtp_server.handler.down = True  # drop this session and refuse the next ones
            return DROP
        return None

    smtp_server.on = script
    with pytest.raises(SendError, match="421 4.3.2 .*run digest send again to resume"):
        send(config, issue_folder)
    assert len(smtp_server.messages) == 3

    smtp_server.handler.down = False
    smtp_server.on = lambda stage, address, n: None
    summary = send(config, issue_folder)
    assert summary.sent == 5 and summary.skipped["already sent"] == 3
    assert set(smtp_server.delivered().values()) == {1} and len(smtp_server.delivered()) == 8


def test_persistent_4xx_defers_and_a_later_run_delivers(smtp_server, make_config, issue_folder):
    config = make_config(smtp_server.port, recipients=3, retries=1)
    smtp_server.on = lambda stage, address, n: (
        "450 4.2.1 mailbox busy" if stage == "RCPT" and address == "reader1@example.com" else None
    )
    summary = send(config, issue_folder)
    assert summary.sent == 2 and summary.deferred == [("reader1@example.com", "450 4.2.1 mailbox busy")]
    assert log_rows(config)["reader1@example.com"] == ("deferred", 2, "450 4.2.1 mailbox busy")
    with open_state(config) as store:
        assert not store.issue_sent(DATE)

    smtp_server.on = lambda stage, address, n: None
    assert send(config, issue_folder).sent == 1
    assert set(smtp_server.delivered().values()) == {1} and len(smtp_server.delivered()) == 3


def test_5xx_is_recorded_as_failed_with_the_reply(smtp_server, make_config, issue_folder):
    config = make_config(smtp_server.port, recipients=4)
    refused = "554 5.7.1 message refused by policy"
    smtp_server.on = lambda stage, address, n: (
        refused if stage == "RCPT" and address == "reader2@example.com" else None
    )
    summary = send(config, issue_folder)
    assert summary.sent == 3 and summary.failed == [("reader2@example.com", refused)]
    assert not summary.ok
    assert log_rows(config)["reader2@example.com"] == ("failed", 1, refused)
    assert send(config, issue_folder).skipped["failed before"] == 1  # not retried by default
    assert send(config, issue_folder, retry_failed=True).failed  # retried on request
    with open_state(config) as store:
        assert store.suppressed() == set()  # a policy refusal says nothing about the address


def test_a_mailbox_that_does_not_exist_is_suppressed(smtp_server, make_config, issue_folder):
    config = make_config(smtp_server.port, recipients=3)
    smtp_server.on = lambda stage, address, n: (
        "550 5.1.1 no such user" if stage == "RCPT" and address == "reader1@example.com" else None
    )
    assert send(config, issue_folder).failed == [("reader1@example.com", "550 5.1.1 no such user")]
    with open_state(config) as store:
        assert store.suppressed() == {"reader1@example.com"}
    second = send(config, issue_folder, retry_failed=True)
    assert second.skipped["suppressed"] == 1 and not second.failed
    assert smtp_server.delivered() == {"reader0@example.com": 1, "reader2@example.com": 1}


def test_a_refused_sender_stops_the_send_and_blames_no_recipient(smtp_server, make_config, issue_folder):
    config = make_config(smtp_server.port, recipients=3)
    smtp_server.on = lambda stage, address, n: (
        "550 5.1.0 sender address rejected" if stage == "MAIL" else None
    )
    with pytest.raises(SendError, match="refuses the sender news@digest.example: 550 5.1.0"):
        send(config, issue_folder)
    with open_state(config) as store:
        assert store.suppressed() == set()
    assert log_rows(config) == {}  # nobody failed: the next run sends to everyone
    smtp_server.on = lambda stage, address, n: None
    assert send(config, issue_folder).sent == 3


def test_a_recipients_file_without_a_valid_address_is_an_error_not_a_sent_issue(
    smtp_server, make_config, issue_folder, tmp_path
):
    config = make_config(smtp_server.port, recipients=2)
    (tmp_path / "subscribers.csv").write_text("email,name\nnot-an-address,Nobody\n", encoding="utf-8")
    with pytest.raises(SendError, match="subscribers.csv: no valid recipient address"):
        send(config, issue_folder)
    write_recipients(tmp_path / "subscribers.csv", 2)  # fixed: the issue still goes out
    assert send(config, issue_folder).sent == 2


def test_bounces_go_to_envelope_from_and_suppression_can_be_turned_off(
    smtp_server, make_config, issue_folder
):
    config = make_config(
        smtp_server.port, recipients=2, envelope_from="bounces@digest.example", suppress_bounces=False
    )
    smtp_server.on = lambda stage, address, n: (
        "550 5.1.1 no such user" if stage == "RCPT" and address == "reader1@example.com" else None
    )
    assert send(config, issue_folder).failed == [("reader1@example.com", "550 5.1.1 no such user")]
    assert [mail_from for mail_from, _, _ in smtp_server.messages] == ["bounces@digest.example"]
    assert smtp_server.parsed()["reader0@example.com"]["From"].addresses[0].addr_spec == "news@digest.example"
    with open_state(config) as store:
        assert store.suppressed() == set()  # suppress_bounces: false


def test_connection_lost_after_data_is_in_doubt_and_not_resent(smtp_server, make_config, issue_folder):
    config = make_config(smtp_server.port, recipients=3)
    smtp_server.on = lambda stage, address, n: (
        DROP if stage == "DATA" and address == "reader1@example.com" else None
    )
    summary = send(config, issue_folder)
    assert summary.in_doubt == ["reader1@example.com"] and summary.sent == 2
    assert log_rows(config)["reader1@example.com"][0] == "sending"

    smtp_server.on = lambda stage, address, n: None
    again = send(config, issue_folder)
    assert again.sent == 0 and again.in_doubt == ["reader1@example.com"]  # at most once
    assert send(config, issue_folder, retry_unknown=True).sent == 1


def test_a_relay_that_drops_every_message_after_the_data_stops_the_send(
    smtp_server, make_config, issue_folder
):
    # a relay whose content filter hangs up after each whole message: two in doubt, and the
    # rest of the list is left for the next send instead of put in doubt one by one
    config = make_config(smtp_server.port, recipients=5)
    smtp_server.on = lambda stage, address, n: (
        DROP if stage == "DATA" and address != "reader0@example.com" else None
    )
    with pytest.raises(SendError, match="dropped the connection after the whole message 2 times in a row"):
        send(config, issue_folder)
    rows = log_rows(config)
    assert {email: row[0] for email, row in rows.items()} == {
        "reader0@example.com": "sent", "reader1@example.com": "sending", "reader2@example.com": "sending",
    }  # fmt: skip

    smtp_server.on = lambda stage, address, n: None
    again = send(config, issue_folder)
    assert again.sent == 2 and again.in_doubt == ["reader1@example.com", "reader2@example.com"]
    assert set(smtp_server.delivered()) == {f"reader{k}@example.com" for k in (0, 3, 4)}


def test_suppressed_addresses_never_get_the_issue(smtp_server, make_config, issue_folder):
    config = make_config(smtp_server.port, recipients=4)
    with open_state(config) as store:
        store.suppress(["READER1@example.com", "reader3@example.com"], "unsubscribed")
    summary = send(config, issue_folder)
    assert summary.sent == 2 and summary.skipped["suppressed"] == 2
    assert set(smtp_server.delivered()) == {"reader0@example.com", "reader2@example.com"}


def test_rate_limit_per_second_and_per_minute():
    clock = [0.0]
    limiter = RateLimiter(10, 25, clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    times = []
    for _ in range(40):
        limiter.wait()
        times.append(clock[0])
    for start in times:
        assert sum(start <= t < start + 1 for t in times) <= 10
        assert sum(start <= t < start + 60 for t in times) <= 25
    assert times[9] == 0 and times[10] == pytest.approx(1.0) and times[25] == pytest.approx(60.0)


# -- TLS and AUTH ------------------------------------------------------------------------
def authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001 (aiosmtpd's hook)
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"right horse"
    return AuthResult(success=True) if ok else AuthResult(success=False, handled=False)


@pytest.fixture
def tls_server(certificate) -> Iterator[SmtpServer]:
    """STARTTLS (self-signed certificate) and AUTH required after it."""
    server = SmtpServer(
        ScriptedHandler(), tls_context=server_tls(certificate), require_starttls=True,
        authenticator=authenticator, auth_required=True,
    )  # fmt: skip
    yield server
    server.stop()


def test_starttls_with_a_self_signed_ca_and_auth(
    tls_server, make_config, issue_folder, certificate, monkeypatch
):
    monkeypatch.setenv("DIGEST_SMTP_PASSWORD", "right horse")
    config = make_config(
        tls_server.port, recipients=3, security="starttls", username="news", cafile=str(certificate[0])
    )
    assert send(config, issue_folder).sent == 3
    assert len(tls_server.messages) == 3


def test_untrusted_certificate_is_one_clear_error(tls_server, make_config, issue_folder, monkeypatch):
    monkeypatch.setenv("DIGEST_SMTP_PASSWORD", "right horse")
    config = make_config(tls_server.port, security="starttls", username="news")
    with pytest.raises(SendError, match="certificate is not trusted.*smtp.cafile"):
        send(config, issue_folder)


def test_wrong_password_is_one_clear_error(tls_server, make_config, issue_folder, certificate, monkeypatch):
    monkeypatch.setenv("DIGEST_SMTP_PASSWORD", "wrong")
    config = make_config(tls_server.port, security="starttls", username="news", cafile=str(certificate[0]))
    with pytest.raises(SendError, match=r"refused the login of 'news': 535 .*DIGEST_SMTP_PASSWORD") as error:
        send(config, issue_folder)
    assert "\n" not in str(error.value)
    assert not log_rows(config)  # nobody was marked as attempted


def test_missing_password_variable_is_one_clear_error(tls_server, make_config, issue_folder, monkeypatch):
    monkeypatch.delenv("DIGEST_SMTP_PASSWORD", raising=False)
    config = make_config(tls_server.port, security="starttls", username="news", password_env="MY_RELAY_PW")
    with pytest.raises(ConfigError, match="MY_RELAY_PW is empty"):  # a setup mistake: exit 2
        send(config, issue_folder)


@pytest.mark.parametrize("key", ["missing.pem", "not-a-key.pem"])
def test_a_dkim_key_that_cannot_sign_is_a_configuration_error(smtp_server, make_config, issue_folder, key):
    (issue_folder.parent.parent / "not-a-key.pem").write_text("not a PEM key\n", encoding="utf-8")
    config = make_config(smtp_server.port, dkim_key=key, dkim_selector="mail")
    result = cli("send", "--sources", str(config.file), "--yes")
    assert result.exit_code == 2 and "smtp.dkim_key: cannot" in result.output, result.output
    assert smtp_server.messages == []


def test_implicit_tls(certificate, make_config, issue_folder):
    server = SmtpServer(ScriptedHandler(), ssl_context=server_tls(certificate))
    try:
        config = make_config(server.port, recipients=2, security="ssl", cafile=str(certificate[0]))
        assert send(config, issue_folder).sent == 2
    finally:
        server.stop()


def test_unreachable_relay_is_one_clear_error(make_config, issue_folder):
    config = make_config(free_port())
    with pytest.raises(SendError, match=r"cannot reach the SMTP relay 127.0.0.1:\d+"):
        send(config, issue_folder)


# -- dry run, test copies, issue lookup --------------------------------------------------
def test_dry_run_writes_one_eml_per_recipient(make_config, issue_folder):
    config = make_config(free_port(), recipients=4)  # nothing listens: nothing may connect
    with open_state(config) as store:
        store.suppress(["reader0@example.com"], "test")
        paths = write_dry_run(config, load_issue(issue_folder), store)
    # beside the state, not in the issue's folder, which is published: each holds a reader's address
    assert len(paths) == 3 and {p.parent for p in paths} == {config.file.parent / "state" / "dry-run" / DATE}
    assert not list(issue_folder.rglob("*.eml"))
    msg = email.message_from_bytes(paths[0].read_bytes(), policy=policy.default)
    assert str(msg["Subject"]) == SUBJECT and msg["To"].addresses[0].addr_spec == "reader1@example.com"
    assert not log_rows(config)


def test_subject_is_the_issues_plain_text_decoded_no_second_time(make_config, tmp_path):
    # a feed that escaped its title twice leaves the words "&amp;" in it: the page shows them,
    # so the Subject must too, with its whitespace runs (a newline) made single spaces
    folder = write_issue(tmp_path / "out", title="Fish &amp; chips &lt;3\n  daily")
    config = make_config(free_port(), recipients=1)
    with open_state(config) as store:
        (path,) = write_dry_run(config, load_issue(folder), store)
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert str(msg["Subject"]) == "Fish &amp; chips &lt;3 daily"


def test_a_field_no_column_fills_stops_the_send_before_anyone_gets_it(smtp_server, make_config, tmp_path):
    folder = write_issue(tmp_path / "out")
    page = (folder / "email.html").read_text(encoding="utf-8")
    (folder / "email.html").write_text(page.replace("</body>", "<p>Your plan: %%PLAN%%</p></body>"), "utf-8")
    config = make_config(smtp_server.port, recipients=3)
    result = cli("send", "--sources", str(config.file), "--yes", str(folder))
    assert result.exit_code == 2 and smtp_server.calls.get("EHLO", 0) == 0
    assert "the issue uses %%PLAN%%, which no column of the recipients file fills" in result.output
    assert "%%CITY%%" in result.output  # what it could use instead
    assert not log_rows(config)
    # its test copy stops the same way: a test that passes must mean the send will
    result = cli("send", "--sources", str(config.file), "--test-to", "me@example.org", str(folder))
    assert result.exit_code == 2 and "the issue uses %%PLAN%%" in result.output
    assert smtp_server.calls.get("EHLO", 0) == 0
    result = cli(
        "send", "--sources", str(config.file), "--dry-run", "--test-to", "me@example.org", str(folder)
    )
    assert result.exit_code == 2 and "the issue uses %%PLAN%%" in result.output  # its dry run too
    # a test copy goes to one address outside the file: its columns are empty for it
    reply = send_test(config, load_issue(write_issue(tmp_path / "other")), "me@example.org")
    assert reply.startswith("250")
    (msg,) = smtp_server.parsed().values()
    assert "Hello  from  (me@example.org)" in msg.get_body(("html",)).get_content()


def test_test_copy_leaves_the_log_untouched(smtp_server, make_config, issue_folder):
    config = make_config(smtp_server.port)
    reply = send_test(config, load_issue(issue_folder), "Me@Example.org")
    assert reply.startswith("250")
    (msg,) = smtp_server.parsed().values()
    assert str(msg["Subject"]) == f"[TEST] {SUBJECT}"
    assert smtp_server.messages[0][1] == ["Me@example.org"]
    assert not log_rows(config)


def test_issue_lookup(tmp_path, issue_folder):
    out = tmp_path / "out"
    write_issue(out, "2025-06-15")
    assert find_issue(None, out) == out / "2025-06-15"
    (out / "latest").symlink_to(DATE)  # publish's pointer wins over the newest folder name
    assert find_issue(None, out) == issue_folder.resolve()
    assert find_issue(DATE, out) == issue_folder
    assert find_issue(str(issue_folder), out) == issue_folder
    with pytest.raises(SendError, match="no issue '2024-01-01'"):
        find_issue("2024-01-01", out)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SendError, match="not an issue folder"):
        load_issue(tmp_path / "empty")


def test_links_without_configured_urls_fall_back_to_mailto(make_config, issue_folder):
    config = make_config(free_port())
    bare = config.model_copy(update={"recipients": None})
    links = Composer(bare, load_issue(issue_folder)).links("a@b.example")
    assert links.header == ("mailto:editor@digest.example?subject=unsubscribe",) and not links.one_click


def test_a_missing_or_plain_http_unsubscribe_url_is_named_as_such(make_config, issue_folder, caplog):
    config = make_config(free_port())
    for url, said in (("", "is not set"), ("http://digest.example/u?e={email}", "is not an https URL")):
        caplog.clear()
        changed = config.recipients.model_copy(update={"unsubscribe_url": url})
        Composer(config.model_copy(update={"recipients": changed}), load_issue(issue_folder))
        assert f"recipients.unsubscribe_url {said}: List-Unsubscribe has no one-click" in caplog.text


def test_the_default_sender_at_localhost_is_named_in_a_warning(make_config, issue_folder, caplog):
    config = make_config(free_port())
    Composer(config, load_issue(issue_folder))
    assert "newsletter.sender" not in caplog.text
    newsletter = config.newsletter.model_copy(update={"sender": Sender()})  # as when not set
    Composer(config.model_copy(update={"newsletter": newsletter}), load_issue(issue_folder))
    assert (
        "newsletter.sender.email is newsletter@localhost: relays and mailbox providers refuse" in caplog.text
    )


# -- a process killed between messages ------------------------------------------------
def kill_send_while_held(smtp_server: SmtpServer, config: Config) -> None:
    """Run ``digest send`` in a process of its own and SIGKILL it once the relay holds
    a command (as scripted with ``HOLD``)."""
    env = {**os.environ, "DIGEST_UNSUBSCRIBE_SECRET": SECRET}
    command = [sys.executable, "-m", "digest.cli", "send", DATE, "--sources", str(config.file)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: smtp_server.holding.is_set() or process.poll() is not None)
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        process.kill()
        process.wait(timeout=DEADLINE)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_killed_between_messages_then_resumed_sends_each_exactly_once(smtp_server, make_config, issue_folder):
    config = make_config(smtp_server.port, recipients=8)
    smtp_server.on = lambda stage, address, n: HOLD if stage == "MAIL" and n == 3 else None
    kill_send_while_held(smtp_server, config)  # after 3 accepted messages, while the 4th has not begun
    smtp_server.release.set()
    assert len(smtp_server.messages) == 3

    smtp_server.on = lambda stage, address, n: None
    summary = send(config, issue_folder)
    assert summary.sent == 5 and summary.skipped["already sent"] == 3
    assert smtp_server.delivered() == {f"reader{n}@example.com": 1 for n in range(8)}


def test_killed_after_the_final_dot_leaves_the_issue_unfinished_until_retry_unknown(
    smtp_server, make_config, issue_folder, caplog
):
    config = make_config(smtp_server.port, recipients=3)
    with open_state(config) as store:
        store.issue_number(DATE, DATE)  # the issue row that build would have made
    # the relay has reader1's whole message and has not answered yet when the process dies
    smtp_server.on = lambda stage, address, n: HOLD if stage == "DATA" and n == 1 else None
    kill_send_while_held(smtp_server, config)
    smtp_server.release.set()
    smtp_server.on = lambda stage, address, n: None
    sources = ["--sources", str(config.file)]

    result = cli("send", DATE, *sources)  # the rest of the list, not reader1: at most once
    assert result.exit_code == 1, result.output
    assert f"sent 1, failed 0, in doubt 1 (not resent: 'digest send {DATE} --retry-unknown'" in result.output
    result = cli("run", "--date", DATE, *sources)  # cron resumes the day's send: still not resent
    assert result.exit_code == 1 and "in doubt 1" in result.output
    assert smtp_server.delivered() == {"reader0@example.com": 1, "reader2@example.com": 1}
    with open_state(config) as store:
        assert not store.issue_sent(DATE)

    caplog.clear()
    cli("run", "--date", "2025-06-15", *sources)  # the next day's run (its build fails: no feed)
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert (
        f"the send of the issue of {DATE} never finished (1 in doubt, 2 sent): "
        f"'digest send {DATE} --retry-unknown' finishes it"
    ) in warned

    result = cli("send", DATE, "--retry-unknown", *sources)
    assert result.exit_code == 0 and "sent 1, failed 0, skipped 2" in result.output
    assert smtp_server.delivered() == {f"reader{n}@example.com": 1 for n in range(3)}
    with open_state(config) as store:
        assert store.issue_sent(DATE) and not store.unfinished_sends("2025-06-15", "2025-06-01")


# -- the command line ----------------------------------------------------------------------
def cli(*args: str, answer: str | None = None) -> Any:
    from click.testing import CliRunner

    from digest.cli import main

    return CliRunner().invoke(main, list(args), input=answer, catch_exceptions=False)


def test_cli_send_on_a_terminal_asks_first(smtp_server, make_config, issue_folder, monkeypatch):
    config = make_config(smtp_server.port, recipients=3)
    monkeypatch.setattr("digest.cli._interactive", lambda: True)
    result = cli("send", "--sources", str(config.file), answer="n\n")
    assert "to 3 recipients through 127.0.0.1:" in result.output and result.exit_code == 0  # a choice
    assert "not sent: nobody got the issue" in result.output
    assert smtp_server.messages == [] and not log_rows(config)
    result = cli("send", "--sources", str(config.file), "--yes")  # no answer needed
    assert result.exit_code == 0 and "Send “" not in result.output and len(smtp_server.messages) == 3
    result = cli("send", "--sources", str(config.file))  # nobody left: nothing to ask
    assert result.exit_code == 0 and "Send “" not in result.output and len(smtp_server.messages) == 3


def test_cli_send_exits_non_zero_when_a_recipient_failed(smtp_server, make_config, issue_folder):
    config = make_config(smtp_server.port, recipients=3)
    smtp_server.on = lambda stage, address, n: (
        "550 5.1.1 no such user" if stage == "RCPT" and address == "reader0@example.com" else None
    )
    result = cli("send", "--sources", str(config.file))
    assert result.exit_code == 1
    assert "failed reader0@example.com: 550 5.1.1 no such user" in result.output
    assert "sent 2, failed 1" in result.output


def test_cli_wrong_password_is_one_line_without_traceback(
    tls_server, make_config, certificate, monkeypatch, issue_folder
):
    monkeypatch.setenv("DIGEST_SMTP_PASSWORD", "wrong")
    config = make_config(tls_server.port, security="starttls", username="news", cafile=str(certificate[0]))
    result = cli("send", DATE, "--sources", str(config.file))
    assert result.exit_code == SendError.exit_code
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "535" in lines[0] and "Traceback" not in result.output


def test_cli_missing_issue_is_one_line(make_config, tmp_path):
    config = make_config(free_port())
    result = cli("send", "--sources", str(config.file))
    assert result.exit_code == SendError.exit_code
    assert result.output.strip().startswith("error: no issue in")


def test_cli_dry_run_and_test_to(smtp_server, make_config, issue_folder):
    config = make_config(smtp_server.port, recipients=3)
    result = cli("send", "--sources", str(config.file), "--dry-run")
    assert result.exit_code == 0 and "wrote 3 messages" in result.output
    dry = config.file.parent / "state" / "dry-run" / DATE
    assert f"to {dry}" in result.output and len(list(dry.glob("*.eml"))) == 3
    result = cli("send", "--sources", str(config.file), "--test-to", "me@example.org")
    assert result.exit_code == 0 and len(smtp_server.messages) == 1
    assert not log_rows(config)


def test_cli_unsubscribe_and_suppress_import(smtp_server, make_config, issue_folder, tmp_path):
    config = make_config(smtp_server.port, recipients=4)
    assert cli("unsubscribe", "Reader0@Example.com", "--sources", str(config.file)).exit_code == 0
    listing = tmp_path / "bounces.txt"
    listing.write_text("# hard bounces\nreader1@example.com\nnot an address\n\nreader0@example.com\n")
    result = cli("suppress", "--import", str(listing), "--sources", str(config.file))
    assert (
        result.exit_code == 0 and "suppressed 1 new addresses (1 already there, 1 invalid)" in result.output
    )
    assert "not an address" in result.output
    with open_state(config) as store:
        assert store.suppressed() == {"reader0@example.com", "reader1@example.com"}
    cli("send", "--sources", str(config.file))
    assert set(smtp_server.delivered()) == {"reader2@example.com", "reader3@example.com"}


def test_cli_configuration_and_usage_mistakes_exit_2_in_one_line(
    smtp_server, make_config, issue_folder, monkeypatch
):
    config = make_config(smtp_server.port, recipients=2)
    sources = ["--sources", str(config.file)]

    def error(*args: str) -> str:
        result = cli("send", *args, *sources, "--yes")
        assert result.exit_code == ConfigError.exit_code == 2, result.output
        (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
        return line

    assert error("--test-to", "not-an-address").startswith("error: --test-to 'not-an-address': not a valid")
    monkeypatch.setenv("DIGEST_UNSUBSCRIBE_SECRET", "too-short")
    assert "DIGEST_UNSUBSCRIBE_SECRET holds only 9 characters: set it to a random secret of 16+" in error()
    monkeypatch.delenv("DIGEST_UNSUBSCRIBE_SECRET")
    assert "the environment variable DIGEST_UNSUBSCRIBE_SECRET is not set: set it" in error()
    data = yaml.safe_load(config.file.read_text(encoding="utf-8"))
    del data["recipients"]
    config.file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert error().startswith(f"error: {config.file}: no recipients configured: add 'recipients:")
    assert not smtp_server.messages and not log_rows(config)


def test_recipient_helper_is_case_insensitive():
    assert Recipient("Reader@Example.com").key == "reader@example.com"


def test_a_test_copy_goes_out_before_there_is_anyone_on_the_list(smtp_server, make_config, issue_folder):
    config = make_config(smtp_server.port, recipients=1)
    config.resolve(config.recipients.csv).write_text("email,name\n", encoding="utf-8")  # no one yet
    reply = send_test(config, load_issue(issue_folder), "me@example.org")
    assert reply.startswith("250") and len(smtp_server.messages) == 1
    config.resolve(config.recipients.csv).unlink()  # nor a file yet
    assert send_test(config, load_issue(issue_folder), "me@example.org").startswith("250")


def test_cli_send_in_cron_logs_progress_and_who_was_missed_not_every_delivery(
    smtp_server, make_config, issue_folder, caplog
):
    config = make_config(smtp_server.port, recipients=25)
    smtp_server.on = lambda stage, address, n: (
        "550 5.1.1 no such user" if stage == "RCPT" and address == "reader7@example.com" else None
    )
    with caplog.at_level(logging.DEBUG, logger="digest"):
        result = cli("send", "--sources", str(config.file))  # stderr is no terminal here: as in cron
    assert result.exit_code == 1 and len(smtp_server.messages) == 24
    shown = [r.getMessage() for r in caplog.records if r.name == "digest" and r.levelno >= logging.INFO]
    progress = [line for line in shown if line.endswith(" of this send's recipients done")]
    assert progress == [f"{n}/25 of this send's recipients done" for n in (3, 6, 9, 12, 15, 18, 21, 24, 25)]
    assert [line for line in shown if "reader" in line] == [
        "8/25 failed reader7@example.com: 550 5.1.1 no such user"
    ]
    at_debug = [r.getMessage() for r in caplog.records if r.name == "digest" and r.levelno == logging.DEBUG]
    assert len([line for line in at_debug if " sent reader" in line]) == 24
