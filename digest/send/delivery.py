"""Send an issue to the list, with a per-recipient log in the state, resumable.

Each recipient's row in the send log moves through these statuses:

- ``sending``: written just before the final ``.`` of DATA. If the process dies, or the
  connection drops, before the relay's reply is recorded, the row stays ``sending``: the
  relay may or may not have taken the message. Such recipients are *in doubt* and are not
  sent again automatically (at most once: a rare missing copy rather than a duplicate);
  ``--retry-unknown`` resends them, and their Message-ID is the same on every attempt so
  a receiving system can still spot the duplicate. Until then the send is unfinished:
  the issue is not marked sent, and the run exits 1.
- ``sent``: the relay answered 250 to the data.
- ``failed``: a 5xx reply, kept with the relay's words; not retried (``--retry-failed``).
- ``deferred``: 4xx replies or dropped connections until the retries ran out; the next
  run sends again. Within a run, a deferred recipient waits for its retry in a queue
  while the rest of the list is sent.

A crash anywhere else loses nothing: a recipient without a row, or ``deferred``, is sent
by the next run, and one with ``sent`` never again.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config import Config
from ..errors import ConfigError, SendError
from ..recipients import Recipient, RecipientList, check_address, load_recipients
from ..store import Store
from .issue import IssueFiles
from .message import Composer, DkimSigner, check_fields, token_secret
from .transport import (
    ConnectionLost,
    PermanentFailure,
    RateLimiter,
    RelayUnavailable,
    SmtpTransport,
    TemporaryFailure,
    relay_password,
)

log = logging.getLogger(__name__)
MAX_BACKOFF = 300.0
# Connections dropped after the whole message, in a row, after which a send stops: a relay
# that fails every message so (a content filter that hangs or crashes) would otherwise
# leave the whole list in doubt, each after a timeout, and none of it resent by a run.
IN_DOUBT_IN_A_ROW = 2
# A 5xx reply saying the mailbox does not exist or is disabled (RFC 3463 X.1.0, X.1.1,
# X.1.10, X.2.1): sending there again only hurts the sender's reputation. Other 5xx
# replies (policy, content, relay) say nothing about the address and do not suppress.
MAILBOX_GONE = re.compile(r"^55[0-3][ -](?:5\.1\.(?:0|1|10)|5\.2\.1)\b")


@dataclass(frozen=True)
class Outcome:
    """What happened to one recipient in this run."""

    recipient: Recipient
    status: str  # sent, failed, deferred, unknown
    reply: str = ""
    position: int = 0  # 1-based, among this run's recipients
    total: int = 0


@dataclass
class SendSummary:
    """The totals of one run of ``send_issue``."""

    issue: str
    sent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (address, reply)
    deferred: list[tuple[str, str]] = field(default_factory=list)
    in_doubt: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> count

    def add(self, outcome: Outcome) -> None:
        """Count one recipient's outcome."""
        email = outcome.recipient.email
        if outcome.status == "sent":
            self.sent += 1
        elif outcome.status == "failed":
            self.failed.append((email, outcome.reply))
        elif outcome.status == "deferred":
            self.deferred.append((email, outcome.reply))
        else:
            self.in_doubt.append(email)

    @property
    def ok(self) -> bool:
        """No recipient failed, is waiting for a retry, or may not have the issue."""
        return not (self.failed or self.deferred or self.in_doubt)

    @property
    def finished(self) -> bool:
        """Nobody is left for a later run: the issue counts as sent. Failed recipients
        are final (``--retry-failed`` aside); deferred and in-doubt ones are not."""
        return not (self.deferred or self.in_doubt)

    def line(self) -> str:
        """The one-line summary printed at the end of a send."""
        skipped = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
        parts = [f"sent {self.sent}", f"failed {len(self.failed)}"]
        if self.deferred:
            parts.append(f"deferred {len(self.deferred)} (the next run retries them)")
        if self.in_doubt:
            parts.append(
                f"in doubt {len(self.in_doubt)} (not resent: 'digest send {self.issue} --retry-unknown' "
                "sends them again)"
            )
        parts.append(f"skipped {sum(self.skipped.values())}" + (f" ({skipped})" if skipped else ""))
        return f"issue {self.issue}: " + ", ".join(parts)


def recipients_of(config: Config) -> list[Recipient]:
    """The configured recipients, bad addresses logged and skipped."""
    if config.recipients is None:
        raise ConfigError(
            f"{config.file}: no recipients configured: add 'recipients: {{csv: subscribers.csv}}'"
        )
    loaded: RecipientList = load_recipients(config.resolve(config.recipients.csv))
    for problem in loaded.invalid:
        log.warning("skipped a bad address: %s", problem)
    if loaded.duplicates:
        log.info("%d duplicate addresses in the recipients file were dropped", loaded.duplicates)
    if not loaded.recipients:  # sending to nobody would mark the issue sent for good
        raise SendError(f"{config.resolve(config.recipients.csv)}: no valid recipient address in it")
    return loaded.recipients


def ready_to_send(config: Config) -> list[Recipient]:
    """The recipients, once what a send needs from this machine is in place: a recipients
    file with a valid address, the token secret when a link uses ``{token}``, the relay's
    password when ``smtp.username`` is set, and a DKIM key that signs. ``ConfigError`` or
    ``SendError`` names the first thing missing. ``digest run`` asks before it builds: a
    password missing from cron's environment must not leave the day's issue built and
    its stories used up, but sent to nobody; ``digest check`` asks too."""
    recipients = recipients_of(config)
    token_secret(config)
    relay_password(config.smtp)
    DkimSigner.from_config(config, config.newsletter.sender.email.rpartition("@")[2])
    return recipients


def plan(
    recipients: Iterable[Recipient],
    store: Store,
    issue: str,
    retry_failed: bool = False,
    retry_unknown: bool = False,
) -> tuple[list[Recipient], SendSummary]:
    """Who still gets ``issue`` now; the summary counts the others as skipped."""
    summary = SendSummary(issue)
    suppressed = store.suppressed()
    status = store.send_status(issue)
    cleared = store.send_log_cleared(issue)  # it went to everyone on the list then
    todo = []
    for recipient in recipients:
        done = status.get(recipient.key)
        if recipient.key in suppressed:
            summary.skipped["suppressed"] += 1
        elif done == "sent":
            summary.skipped["already sent"] += 1
        elif cleared:
            summary.skipped["sent to the list before its log was cleared"] += 1
        elif done == "failed" and not retry_failed:
            summary.skipped["failed before"] += 1
        elif done == "sending" and not retry_unknown:
            summary.in_doubt.append(recipient.email)
        else:
            todo.append(recipient)
    return todo, summary


def send_issue(
    config: Config,
    issue: IssueFiles,
    store: Store,
    recipients: list[Recipient] | None = None,
    on_result: Callable[[Outcome], None] | None = None,
    retry_failed: bool = False,
    retry_unknown: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> SendSummary:
    """Send ``issue`` to every recipient who has not had it yet; log each in ``store``.

    Marks the issue sent once nobody is left for a later run (``SendSummary.finished``).
    Raises ``SendError`` if the relay cannot be used at all (then the next run resumes
    where this one stopped).
    """
    everyone = recipients_of(config) if recipients is None else recipients
    check_fields(issue, everyone)
    todo, summary = plan(everyone, store, issue.key, retry_failed, retry_unknown)
    if todo:
        composer = Composer(config, issue)
        store.mark_send_begun(issue.key)  # a relay that refuses now leaves a trace for later runs
        with SmtpTransport(config.smtp, _cafile(config)) as transport:
            transport.connect()  # fail fast, before the first recipient: password, TLS, host
            run = _Run(config, issue.key, store, composer, transport, sleep)
            for position, outcome in enumerate(run.deliver_all(todo, summary), 1):
                outcome = replace(outcome, position=position, total=len(todo))
                summary.add(outcome)
                if on_result:
                    on_result(outcome)
    if summary.finished:
        store.mark_sent(issue.key)
    return summary


class _Run:
    """The retry loop of one send: backoff, reconnects and the log writes."""

    def __init__(
        self,
        config: Config,
        key: str,
        store: Store,
        composer: Composer,
        transport: SmtpTransport,
        sleep: Callable[[float], None],
    ) -> None:
        self.key, self.store, self.composer, self.transport = key, store, composer, transport
        self.smtp, self.sleep = config.smtp, sleep
        self.limiter = RateLimiter(config.smtp.rate_per_second, config.smtp.rate_per_minute, sleep=sleep)
        self.envelope_from = _envelope_from(config)
        self.in_doubt_in_a_row = 0  # attempts ended by a dropped connection after the final "."

    def deliver_all(self, todo: list[Recipient], summary: SendSummary) -> Iterator[Outcome]:
        """Send to each recipient in turn, yielding each final outcome. A recipient whose
        attempt gets a 4xx reply or a dropped connection waits in a queue for its retry
        (after the backoff) while the others are sent: a greylisting server holds up only
        the mail it greylists, not the rest of the list."""
        # (due, order, recipient, its message, attempts made); order: first deferred, first retried
        waiting: list[tuple[float, int, Recipient, bytes, int]] = []
        fresh, tickets = deque(todo), itertools.count()
        while fresh or waiting:
            if waiting and (not fresh or waiting[0][0] <= time.monotonic()):
                due, _, recipient, message, made = heapq.heappop(waiting)
                if (pause := due - time.monotonic()) > 0:
                    self.sleep(pause)
            else:  # composed once: a retry sends the same message
                recipient, made = fresh.popleft(), 0
                message = self.composer.compose(recipient)
            outcome = self.attempt(recipient, message, made + 1, summary)
            if outcome.status == "deferred" and made < self.smtp.retries:
                due = time.monotonic() + self._backoff(made + 1)
                heapq.heappush(waiting, (due, next(tickets), recipient, message, made + 1))
            else:
                yield outcome

    def attempt(self, recipient: Recipient, message: bytes, number: int, summary: SendSummary) -> Outcome:
        """One attempt (the ``number``-th) to send ``message`` to ``recipient``; "deferred"
        means it may be retried."""
        self._connected(summary)
        self.limiter.wait()
        try:
            reply = self.transport.send(
                self.envelope_from, recipient.email, message, lambda: self._log(recipient, "sending")
            )
        except PermanentFailure as exc:
            self.in_doubt_in_a_row = 0  # the relay answers
            if exc.command == "MAIL FROM":  # the sender is refused: so will everyone be
                raise SendError(
                    f"the relay refuses the sender {self.envelope_from}: {exc.reply} "
                    "(check smtp.envelope_from and newsletter.sender.email)"
                ) from None
            self._log(recipient, "failed", exc.reply, exc.after_data)
            if self.smtp.suppress_bounces and MAILBOX_GONE.match(exc.reply):
                self.store.suppress([recipient.email], f"bounced: {exc.reply}")
                log.info("%s: suppressed from now on (%s)", recipient.email, exc.reply)
            return Outcome(recipient, "failed", exc.reply)
        except TemporaryFailure as exc:
            reply, self.in_doubt_in_a_row = exc.reply, 0
            self._log(recipient, "deferred", reply, exc.after_data)
            if self.transport.smtp is None:  # a 421 closed the session: pause before the next one
                self.sleep(self._backoff(1))
        except ConnectionLost as exc:
            reply = f"connection lost: {exc}"
            if exc.committed:  # the relay may have the message: at most once
                self._log(recipient, "sending", f"in doubt: {reply}", counted=True)
                self.in_doubt_in_a_row += 1
                return Outcome(recipient, "unknown", reply)
            self._log(recipient, "deferred", reply)
        else:
            self._log(recipient, "sent", reply, counted=True)
            self.in_doubt_in_a_row = 0
            return Outcome(recipient, "sent", reply)
        log.info("%s: %s (attempt %d of %d)", recipient.email, reply, number, self.smtp.retries + 1)
        return Outcome(recipient, "deferred", reply)

    def _log(self, recipient: Recipient, status: str, reply: str = "", counted: bool = False) -> None:
        """One log write; ``counted`` if the "sending" row of this attempt already exists."""
        if counted:
            self.store.set_send_status(self.key, recipient.key, status, reply)
        else:
            self.store.log_send(self.key, recipient.key, status, reply)

    def _connected(self, summary: SendSummary) -> None:
        """Reconnect if the connection dropped; give up the run if the relay stays away."""
        if self.transport.smtp is not None:
            return
        if self.in_doubt_in_a_row >= IN_DOUBT_IN_A_ROW:  # the rest keep their turn, not in doubt
            raise SendError(
                f"{self.transport.where} dropped the connection after the whole message "
                f"{self.in_doubt_in_a_row} times in a row (those recipients are in doubt); stopped after "
                f"this run's {summary.sent} sent: run digest send again to resume"
            )
        for attempt in range(self.smtp.retries + 1):
            try:
                self.transport.connect()
                return
            except RelayUnavailable as exc:
                error = exc
                log.warning("%s (reconnect %d of %d)", exc, attempt + 1, self.smtp.retries + 1)
                if attempt < self.smtp.retries:
                    self.sleep(self._backoff(attempt + 1))
        raise SendError(
            f"{error}; stopped after this run's {summary.sent} sent: run digest send again to resume"
        )

    def _backoff(self, attempt: int) -> float:
        return min(MAX_BACKOFF, self.smtp.backoff * 2 ** (attempt - 1))


def _envelope_from(config: Config) -> str:
    """The envelope sender (where bounces go): smtp.envelope_from, else the From address."""
    return config.smtp.envelope_from or config.newsletter.sender.email


def _cafile(config: Config) -> Path | None:
    return config.resolve(config.smtp.cafile) if config.smtp.cafile else None


def send_test(config: Config, issue: IssueFiles, address: str) -> str:
    """Send one copy of ``issue`` marked ``[TEST]`` to ``address``; the send log is untouched."""
    recipient = _test_recipient(address)
    _check_fields_as_a_send_would(config, issue)
    message = Composer(config, issue).compose(recipient, test=True)
    with SmtpTransport(config.smtp, _cafile(config)) as transport:
        transport.connect()
        try:
            return transport.send(_envelope_from(config), recipient.email, message, lambda: None)
        except (PermanentFailure, TemporaryFailure) as exc:
            raise SendError(f"the relay refused the test message to {address}: {exc.reply}") from None
        except ConnectionLost as exc:
            raise SendError(
                f"the connection to the relay dropped while sending the test message: {exc}"
            ) from None


def _check_fields_as_a_send_would(config: Config, issue: IssueFiles) -> None:
    """The ``%%FIELD%%`` check of a real send, for a test copy: a test that passes must
    not hide a send that will stop. Nothing to check against while there is no list yet
    (no recipients file, or one without a valid address): the test copy goes out."""
    if config.recipients is None:
        return
    try:
        recipients = recipients_of(config)
    except (ConfigError, SendError) as exc:
        log.info("no recipients to check the issue's fields against (%s)", exc)
        return
    check_fields(issue, recipients)


def dry_run_folder(config: Config, issue: IssueFiles) -> Path:
    """Where ``send --dry-run`` writes an issue's messages: beside the state database, not
    in ``out``, which is published as it is; each message holds its reader's address and
    unsubscribe token."""
    return dry_runs(config) / issue.key


def dry_runs(config: Config) -> Path:
    """The folder of every issue's dry run (``dry_run_folder``)."""
    return config.resolve(config.state).parent / "dry-run"


def write_dry_run(config: Config, issue: IssueFiles, store: Store, test_to: str | None = None) -> list[Path]:
    """Write the messages a send would make now to ``dry_run_folder``, one ``.eml`` each."""
    if test_to:
        _check_fields_as_a_send_would(config, issue)
        recipients, test = [_test_recipient(test_to)], True
    else:
        everyone = recipients_of(config)
        check_fields(issue, everyone)
        recipients, test = plan(everyone, store, issue.key)[0], False
    folder = dry_run_folder(config, issue)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for old in folder.glob("*.eml"):
        old.unlink()
    composer = Composer(config, issue)
    paths = []
    for number, recipient in enumerate(recipients, 1):
        safe = "".join(c if c.isalnum() or c in "@._+-" else "_" for c in recipient.email)
        path = folder / f"{number:05d}-{safe}.eml"
        path.write_bytes(composer.compose(recipient, test=test))
        paths.append(path)
    return paths


def _test_recipient(address: str) -> Recipient:
    try:
        return Recipient(check_address(address), "")
    except ValueError as exc:  # a usage mistake (exit 2), as in digest unsubscribe
        raise ConfigError(f"--test-to {address!r}: not a valid address: {exc}") from None
