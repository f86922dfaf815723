"""The SMTP relay: one connection reused for many messages, TLS, AUTH, a rate limit.

Every reply is classified: 2xx delivered, 4xx ``TemporaryFailure`` (421 also closes the
connection), 5xx ``PermanentFailure``; a dropped connection is ``ConnectionLost``. The
caller's ``before_commit`` runs just before the final ``.`` of DATA, the only moment
after which the relay may have taken the message without our knowing.
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from ..config import SmtpConfig
from ..errors import ConfigError, SendError


class RelayUnavailable(SendError):
    """The relay cannot be reached or refuses connections for now (worth retrying)."""


class RefusedReply(Exception):
    """A reply refusing one step of a message: ``command`` is "MAIL FROM", "RCPT TO",
    "DATA" or "end of data" (the reply after the final ".")."""

    def __init__(self, reply: str, command: str) -> None:
        super().__init__(reply)
        self.reply, self.command = reply, command

    @property
    def after_data(self) -> bool:
        """Whether the whole message had been sent when the reply came."""
        return self.command == "end of data"


class TemporaryFailure(RefusedReply):
    """A 4xx reply: try this recipient again later."""


class PermanentFailure(RefusedReply):
    """A 5xx reply: this message will not go through as it is."""


class ConnectionLost(Exception):
    """The connection dropped; ``committed`` if that happened after the final ``.`` was sent."""

    def __init__(self, reason: str, committed: bool) -> None:
        super().__init__(reason)
        self.committed = committed


class SmtpTransport:
    """An SMTP session with the configured relay, reconnected by the caller when it drops."""

    def __init__(self, config: SmtpConfig, cafile: Path | None = None) -> None:
        self.config, self.cafile = config, cafile
        self.smtp: smtplib.SMTP | None = None
        self.where = f"{config.host}:{config.port}"
        self.password = relay_password(config)

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        """Open, secure and authenticate the connection; one-line ``SendError`` if it fails."""
        self.close()
        try:
            self.smtp = self._open()
        except SendError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise SendError(
                f"{self.where} refused the login of {self.config.username!r}: "
                f"{_reply(exc.smtp_code, exc.smtp_error)}"
                f" (check the password in ${self.config.password_env} and smtp.username)"
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise SendError(
                f"{self.where}: the relay's TLS certificate is not trusted ({exc.verify_message}); "
                "set smtp.cafile to the CA that signed it"
            ) from None
        except ssl.SSLError as exc:
            raise SendError(
                f"{self.where}: TLS failed: {exc.reason or exc} (check smtp.security and smtp.port)"
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise RelayUnavailable(
                f"{self.where} refused the connection: {_reply(exc.smtp_code, exc.smtp_error)}"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise RelayUnavailable(
                f"cannot reach the SMTP relay {self.where}: {exc or type(exc).__name__} "
                "(check smtp.host and smtp.port)"
            ) from None

    def _open(self) -> smtplib.SMTP:
        config = self.config
        context = ssl.create_default_context(cafile=str(self.cafile) if self.cafile else None)
        if config.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        try:
            # The final "." goes out as its own small write: without NODELAY, Nagle's
            # algorithm and delayed ACKs hold it back ~40 ms per message.
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            code, text = smtp.ehlo()
            if code >= 500:  # a relay without ESMTP
                code, text = smtp.helo()
            if code != 250:  # e.g. 421: busy, try later
                raise smtplib.SMTPConnectError(code, text)
            if config.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise SendError(
                        f"{self.where} does not offer STARTTLS (use smtp.security: ssl for implicit TLS, "
                        "or 'none' only for a relay on this machine)"
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
            if config.username:
                if not smtp.has_extn("auth"):
                    raise SendError(f"{self.where} does not offer AUTH, but smtp.username is set")
                smtp.login(config.username, self.password)
        except BaseException:
            _quietly_close(smtp)
            raise
        return smtp

    def close(self) -> None:
        """Say QUIT if possible and drop the connection."""
        if self.smtp is not None:
            smtp, self.smtp = self.smtp, None
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                _quietly_close(smtp)

    def send(self, sender: str, recipient: str, message: bytes, before_commit: Callable[[], None]) -> str:
        """Deliver ``message`` to one recipient over the open connection (``connect`` first);
        return the relay's reply to the data."""
        smtp = self.smtp
        assert smtp is not None, "connect() first"
        committed = False
        try:
            self._expect(smtp.mail(sender), "MAIL FROM", 250)
            self._expect(smtp.rcpt(recipient), "RCPT TO", 250, 251)
            self._expect(smtp.docmd("DATA"), "DATA", 354)
            smtp.send(_dot_stuffed(message))
            try:
                before_commit()
            except BaseException:
                _quietly_close(smtp)  # no final "." ever goes out: the relay drops the message
                self.smtp = None
                raise
            committed = True
            smtp.send(b".\r\n")
            return self._expect(smtp.getreply(), "end of data", 250)
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            _quietly_close(smtp)
            self.smtp = None
            raise ConnectionLost(str(exc) or type(exc).__name__, committed) from None

    def _expect(self, response: tuple[int, bytes], command: str, *ok: int) -> str:
        code, text = response
        reply = _reply(code, text)
        if code in ok:
            return reply
        if code == 421 or code < 0:  # the relay is closing the connection
            _quietly_close(self.smtp)
            self.smtp = None
        elif command != "end of data":
            self._reset()
        if 400 <= code < 500 or code < 0:
            raise TemporaryFailure(reply, command)
        raise PermanentFailure(reply, command)

    def _reset(self) -> None:
        try:
            assert self.smtp is not None
            self.smtp.rset()
        except (OSError, smtplib.SMTPException):
            _quietly_close(self.smtp)
            self.smtp = None


class RateLimiter:
    """At most ``per_second`` messages in any second and ``per_minute`` in any minute."""

    def __init__(
        self,
        per_second: float,
        per_minute: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.windows = [_Window(per_second, 1.0), _Window(per_minute, 60.0)]
        self.clock, self.sleep = clock, sleep

    def wait(self) -> None:
        """Block until one more message is allowed, and count it."""
        while True:
            now = self.clock()
            delay = max(w.delay(now) for w in self.windows)
            if delay <= 0:
                for window in self.windows:
                    window.sent.append(now)
                return
            self.sleep(delay)


class _Window:
    """A sliding window: ``count`` sends per ``span`` seconds (a fractional rate such as
    2.5/s becomes 2 per 0.8 s; 0.5/s becomes 1 per 2 s)."""

    def __init__(self, rate: float, period: float) -> None:
        self.count = max(1, int(rate))
        self.span = period * self.count / rate
        self.sent: deque[float] = deque(maxlen=self.count)

    def delay(self, now: float) -> float:
        if len(self.sent) < self.count:
            return 0.0
        return self.sent[0] + self.span - now


def relay_password(config: SmtpConfig) -> str:
    """The relay's password from ``smtp.password_env`` ("" without ``smtp.username``);
    ``ConfigError`` when a username is set and the variable is empty."""
    if not config.username:
        return ""
    password = os.environ.get(config.password_env, "")
    if not password:  # a setup mistake, like a missing secret: exit 2
        raise ConfigError(
            f"smtp.username is set but the environment variable {config.password_env} is empty: "
            "export the relay's password there (it is never read from sources.yaml)"
        )
    return password


def _dot_stuffed(message: bytes) -> bytes:
    """``message`` as DATA content: CRLF-terminated, leading dots doubled (RFC 5321 4.5.2)."""
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    if message.startswith(b"."):
        message = b"." + message
    return message.replace(b"\r\n.", b"\r\n..")


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(text.split())}".strip()


def _quietly_close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.close()
        except OSError:
            pass
