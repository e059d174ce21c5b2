"""Sending email through Django's configured email backend."""

from django.conf import settings
from django.core.mail import send_mail


def email_send(*, to: list[str], subject: str, body: str) -> int:
    """Send one plain-text email; return how many messages the backend accepted.

    SMTP failures propagate (smtplib.SMTPException, OSError) so the calling job's retry
    policy can decide whether to try again.
    """
    if not to:
        raise ValueError("at least one recipient is required")
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to, fail_silently=False)
