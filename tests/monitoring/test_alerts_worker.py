"""Alerts from a real worker: a job failing for good, a run killed at its time limit, and
the recovery, each told exactly once by mail (Django's file backend) and by a signed
webhook."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django_celery_results.models import TaskResult

from taskcenter.models import Alert
from tests.conftest import child_env, start_worker, wait_for
from tests.monitoring.conftest import TEST_QUEUE, Webhook, send

pytestmark = [pytest.mark.services, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alerting_worker(tmp_path: Path) -> Iterator[tuple[Path, Webhook]]:
    from config.celery import app

    hook = Webhook("worker-secret")
    outbox = tmp_path / "mail"
    app.control.purge()
    proc, _node = start_worker(
        tmp_path,
        queues=TEST_QUEUE,
        extra=["-I", "tests.monitoring.tasks"],
        env=child_env(
            EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
            EMAIL_FILE_PATH=str(outbox),
            ADMINS="ops@example.com",
            TASKCENTER_ALERT_WEBHOOK_URL=hook.url,
            TASKCENTER_ALERT_WEBHOOK_SECRET="worker-secret",
            TASKCENTER_ALERT_WINDOW="3600",
        ),
    )
    try:
        yield outbox, hook
    finally:
        proc.stop()
        hook.close()


def finished(ids: list[str]) -> None:
    wait_for(
        lambda: (
            TaskResult.objects.filter(task_id__in=ids, status__in=("SUCCESS", "FAILURE")).count()
            == len(ids)
        ),
        timeout=60,
        what="the runs to finish",
    )


def delivered(n: int) -> list[Alert]:
    return wait_for(
        lambda: (
            (rows := list(Alert.objects.order_by("id")))
            and len(rows) >= n
            and all(r.attempts for r in rows)
            and rows
        ),
        timeout=30,
        what=f"{n} delivered alerts",
    )


def mails(outbox: Path) -> list[str]:
    return [p.read_text() for p in sorted(outbox.glob("*"))] if outbox.exists() else []


def test_final_failures_time_limit_and_recovery_are_each_told_once(alerting_worker):
    outbox, hook = alerting_worker

    # Given a job failing three times for good and one run past its time limit
    failing = [send("tests.monitoring.maybe", fail=True) for _ in range(3)]
    overrun = send(
        "tests.monitoring.overrun", seconds=10, options={"soft_time_limit": 0.5, "time_limit": 1.5}
    )
    finished([*failing, overrun])
    rows = delivered(4)

    # Then one alert per cause and job, on each channel
    assert sorted((r.cause, r.subject, r.channel) for r in rows) == [
        ("final_failure", "tests.monitoring.maybe", "email"),
        ("final_failure", "tests.monitoring.maybe", "webhook"),
        ("time_limit", "tests.monitoring.overrun", "email"),
        ("time_limit", "tests.monitoring.overrun", "webhook"),
    ]
    assert all(r.delivered for r in rows)
    assert len(hook.calls) == 2
    assert all(c["signed"] for c in hook.calls)
    texts = mails(outbox)
    assert len(texts) == 2
    assert all("To: ops@example.com" in t for t in texts)

    # When the failing job succeeds again
    finished([send("tests.monitoring.maybe", fail=False)])
    rows = delivered(6)

    # Then "recovered" is told once per channel, for that job only
    recovered = [(r.subject, r.channel) for r in rows if r.kind == "recovered"]
    assert sorted(recovered) == [
        ("tests.monitoring.maybe", "email"),
        ("tests.monitoring.maybe", "webhook"),
    ]
    assert len(mails(outbox)) == 3
