"""Sending mail through SMTP: the provider interface and its SMTP adapter, shared by the
services that send mail (sales: receipts, ADR 0062; inventory: the daily low-stock
digest, ADR 0069).

The mail server is outside the project: a message that cannot be handed over after a
few tries with jittered exponential backoff is a MailUnavailable (worth trying again
later); one the server refuses for good (5xx) is a MailRefused. What to do then is the
caller's business (sales answers 503/422; inventory's digest tries again next minute).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal, Protocol

from pydantic import SecretStr, model_validator
from tenacity import AsyncRetrying, RetryError, retry_if_exception, stop_after_attempt, wait_random_exponential

from pos_platform.settings import ServiceSettings

log = logging.getLogger("pos.mail")


class SmtpSettings(ServiceSettings):
    """The mail server (POS_SMTP_*), for services that send mail. No host: sending raises
    MailUnavailable "not set up". TLS: starttls (port 587), tls (implicit, port 465) or
    none (a relay on loopback or a private network only)."""

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    smtp_tls_verify: bool = True  # check the server's certificate (off only for a test server)
    smtp_tls_ca: str = ""  # a CA bundle for the server's certificate; "" = the system's
    smtp_username: str = ""  # "" = no AUTH
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = ""  # the From address, e.g. "Receipts <receipts@shop.example>"
    smtp_timeout_seconds: float = 10.0
    # Tries per message (connection errors, timeouts, 4xx answers), with jittered
    # exponential backoff between them: the caller waits at most a few seconds.
    smtp_attempts: int = 3
    smtp_backoff_seconds: float = 0.5
    smtp_backoff_max_seconds: float = 3.0

    @model_validator(mode="after")
    def _refuse_password_in_clear(self) -> SmtpSettings:
        if self.environment == "production" and self.smtp_username and self.smtp_tls == "none":
            raise ValueError(
                "POS_SMTP_TLS=none with POS_SMTP_USERNAME would send the mail password in clear: use starttls or tls"
            )
        return self


@dataclass(frozen=True)
class Mail:
    """One message: plain text, and an HTML alternative when there is one. `to`: one
    address, or several (one message to all of them)."""

    to: str | Sequence[str]
    subject: str
    text: str
    html: str | None = None

    @property
    def recipients(self) -> list[str]:
        return [self.to] if isinstance(self.to, str) else list(self.to)


class MailUnavailable(Exception):
    """The mail server could not be reached, or kept refusing for now (4xx), after the
    retries; or no mail server is set up. Worth trying again later."""


class MailRefused(Exception):
    """The mail server refused the message for good (5xx), e.g. the address: trying
    again will not help; the message says what it answered."""


class MailSender(Protocol):
    """Hands a message to whatever delivers mail."""

    async def send(self, mail: Mail) -> None:
        """Deliver `mail` or raise MailUnavailable / MailRefused."""
        ...


def _transient(exc: BaseException) -> bool:
    """Worth another try: no connection, a timeout, a dropped connection, a 4xx answer.
    (smtplib's errors are OSErrors too: a 5xx answer is not transient.)"""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return True
    if isinstance(exc, smtplib.SMTPException | ssl.SSLCertVerificationError):
        return False  # a certificate that does not verify will not the next time either
    return isinstance(exc, OSError)  # refused, reset, unreachable, timed out


class SmtpMailSender:
    """SMTP (RFC 5321) with STARTTLS, implicit TLS or none, optional AUTH; each message
    on a connection of its own (few messages), with retries and jittered backoff.
    `not_set_up`: what to tell the caller when no mail server is configured."""

    def __init__(self, settings: SmtpSettings, *, not_set_up: str = "") -> None:
        self.settings = settings
        self.not_set_up = not_set_up

    @property
    def where(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"

    def message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = ", ".join(mail.recipients)
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain=self.settings.smtp_from.rpartition("@")[2].rstrip(">") or None)
        message.set_content(mail.text)
        if mail.html is not None:
            message.add_alternative(mail.html, subtype="html")
        return message

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.settings.smtp_tls_ca or None)
        if not self.settings.smtp_tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _send_once(self, message: EmailMessage) -> None:
        s = self.settings
        timeout = s.smtp_timeout_seconds
        smtp: smtplib.SMTP
        if s.smtp_tls == "tls":
            smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=timeout, context=self._tls_context())
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if s.smtp_tls == "starttls":
                smtp.starttls(context=self._tls_context())
                smtp.ehlo()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            smtp.send_message(message)

    async def send(self, mail: Mail) -> None:
        s = self.settings
        if not s.smtp_host or not s.smtp_from:
            hint = f": {self.not_set_up}" if self.not_set_up else ""
            raise MailUnavailable(f"e-mail is not set up on this server (POS_SMTP_HOST and POS_SMTP_FROM){hint}")
        message = self.message(mail)
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(_transient),
                stop=stop_after_attempt(max(1, s.smtp_attempts)),
                wait=wait_random_exponential(multiplier=s.smtp_backoff_seconds, max=s.smtp_backoff_max_seconds),
                reraise=False,
            ):
                with attempt:
                    await asyncio.to_thread(self._send_once, message)
        except RetryError as failed:
            cause = failed.last_attempt.exception()
            log.warning("mail not sent: the mail server failed", extra={"smtp": self.where, "error": repr(cause)})
            raise MailUnavailable(f"the mail server ({self.where}) did not take the message: {_say(cause)}") from cause
        except smtplib.SMTPRecipientsRefused as refused:
            code, answer = next(iter(refused.recipients.values()))
            to = ", ".join(mail.recipients)
            raise MailRefused(f"the mail server refused the address {to}: {code} {_text(answer)}") from refused
        except smtplib.SMTPAuthenticationError as exc:
            log.error("mail not sent: the mail server refused the log-in", extra={"smtp": self.where})
            raise MailUnavailable(
                f"the mail server ({self.where}) refused this server's log-in: check POS_SMTP_USERNAME and POS_SMTP_PASSWORD"
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise MailRefused(f"the mail server refused the message: {exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except (smtplib.SMTPException, ssl.SSLError) as exc:
            raise MailUnavailable(f"the mail server ({self.where}) could not be used: {_say(exc)}") from exc


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)


def _say(exc: BaseException | None) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"it answered {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is it running?)"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return str(exc) or type(exc).__name__
