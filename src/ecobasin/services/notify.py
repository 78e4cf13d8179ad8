"""E-mail through the SMTP server of the settings (``smtp_host``, ``smtp_port``, ``smtp_from``).

Plain smtplib (RFC 5321 / RFC 5322 messages built with :mod:`email.message`): no TLS or
authentication here, for a relay inside the bureau's network; unset ``smtp_host`` means no
e-mail (in-app notifications only). Errors are the caller's to count and retry.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from email.message import EmailMessage

from ecobasin.settings import Settings

__all__ = ["mail_enabled", "send_mail"]


def mail_enabled(settings: Settings) -> bool:
    """Whether an SMTP server is configured."""
    return bool(settings.smtp_host)


def send_mail(settings: Settings, to: Sequence[str], subject: str, body: str) -> None:
    """Send one plain-text UTF-8 message to ``to`` through the configured SMTP server.

    Raises
    ------
    ValueError
        No SMTP server configured, or no recipient.
    OSError, smtplib.SMTPException
        The server cannot be reached or refuses the message.
    """
    if not settings.smtp_host:
        raise ValueError("no SMTP server configured (ECOBASIN_SMTP_HOST) 未配置邮件服务器")
    if not to:
        raise ValueError("no recipient 无收件人")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s
    ) as smtp:
        smtp.send_message(message)
