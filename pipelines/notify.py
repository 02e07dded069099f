"""Deliver one message to a Slack-compatible incoming webhook and/or by email (SMTP with STARTTLS,
always: a server that does not offer it gets neither the mail nor the password).

The webhook URL and the SMTP password are secrets: an error names the channel and the kind of
failure only, never the URL, the server's reply or the password.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

import httpx

from pipelines.settings import Settings

TIMEOUT_SECONDS = 30


class DeliveryError(RuntimeError):
    """A channel did not accept the message; the text is safe to print."""


def channels(settings: Settings) -> list[str]:
    """The channels configured: 'webhook' and/or 'email' (Settings refuses a host without sender or recipients)."""
    return [name for name, configured in (("webhook", settings.alert_webhook_url), ("email", settings.smtp_host))
            if configured]


def send(settings: Settings, subject: str, text: str) -> list[str]:
    """Send to every configured channel; returns the channels that took it, raises DeliveryError when one did not."""
    delivered, errors = [], []
    for channel in channels(settings):
        try:
            (_post_webhook if channel == "webhook" else _send_email)(settings, subject, text)
            delivered.append(channel)
        except DeliveryError as exc:
            errors.append(str(exc))
    if errors:
        raise DeliveryError("; ".join(errors) + (f" (delivered by {', '.join(delivered)})" if delivered else ""))
    return delivered


def _post_webhook(settings: Settings, subject: str, text: str) -> None:
    try:
        response = httpx.post(settings.alert_webhook_url, json={"text": f"*{subject}*\n{text}"}, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:  # its message holds the URL
        raise DeliveryError(f"the alert webhook could not be reached ({type(exc).__name__})") from None
    if response.status_code >= 300:
        raise DeliveryError(f"the alert webhook answered HTTP {response.status_code}")


def _send_email(settings: Settings, subject: str, text: str) -> None:
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, settings.smtp_from, ", ".join(settings.smtp_to)
    message.set_content(text)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS) as smtp:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):  # also on loopback: a relay that cannot encrypt gets nothing
                raise DeliveryError(f"the alert email via {settings.smtp_host}:{settings.smtp_port} was not sent: "
                                    "the server does not offer STARTTLS, and neither mail nor password travel unencrypted")
            smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"the alert email via {settings.smtp_host}:{settings.smtp_port} failed "
                            f"({type(exc).__name__})") from None
