"""Email jobs (Celery, `email` queue), retried with backoff on SMTP and network errors."""

import smtplib

from jobs.logic.mail import email_send
from taskcenter.catalog import RetryPolicy, celery_job


@celery_job(
    "jobs.email.send_email",
    queue="email",
    retry=RetryPolicy(on=(smtplib.SMTPException, OSError), max_retries=5, backoff=5),
)
def send_email(to: list[str], subject: str, body: str) -> int:
    """Send a plain-text email through Django's email backend."""
    return email_send(to=to, subject=subject, body=body)
