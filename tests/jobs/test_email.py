"""The email job sends through Django's backend and retries on SMTP/network errors."""

import smtplib

import pytest
from django.core import mail
from django_celery_results.models import TaskResult

from jobs.email import send_email
from taskcenter import dispatch
from tests.conftest import child_env, start_worker, wait_for
from tests.servers import free_port


def test_send_email_uses_the_configured_backend(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    sent = send_email.run(["ops@example.com"], "Nightly report", "All green.")

    assert sent == 1
    assert mail.outbox[0].subject == "Nightly report"
    assert mail.outbox[0].to == ["ops@example.com"]


def test_send_email_retry_policy_covers_smtp_and_network_errors():
    assert set(send_email.autoretry_for) == {smtplib.SMTPException, OSError}
    assert send_email.max_retries == 5
    assert send_email.retry_jitter is True


@pytest.mark.services
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_unreachable_smtp_server_puts_the_job_in_retry_with_its_attempt(tmp_path, celery_worker):
    # Given a worker whose SMTP server refuses connections (nothing listens on the port)
    env = child_env(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(free_port()))
    worker, _ = start_worker(tmp_path, queues="email_retry_test", concurrency=1, env=env)
    run = None
    try:
        # When the email job runs there
        run = dispatch.submit(
            "jobs.email.send_email",
            [["ops@example.com"]],
            {"subject": "s", "body": "b"},
            queue="email_retry_test",
        )

        # Then it is stored as RETRY, not FAILURE, and the worker says when it retries
        row = wait_for(
            lambda: TaskResult.objects.filter(task_id=run.id, status="RETRY").first(),
            timeout=30,
            what="RETRY state",
        )
        assert "ConnectionRefusedError" in row.result
        wait_for(
            lambda: f"Task jobs.email.send_email[{run.id}] retry" in worker.output(),
            timeout=10,
            what="the retry log line",
        )
    finally:
        if run is not None:
            dispatch.revoke(run.id)
        worker.stop()
