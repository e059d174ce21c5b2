"""Alerts decided and delivered in this process: suppression, summaries, recovery, rules,
the webhook's signature and retries, missed runs and silent processes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_results.models import TaskResult

from taskcenter.alerts.checks import (
    alerts_check_local_runs,
    alerts_check_missed_runs,
    alerts_check_processes,
)
from taskcenter.alerts.services import alert_raise, alert_resolve, alerts_sweep
from taskcenter.models import Alert, AlertRule, AlertState, Cause, LocalJobRun, ScheduleEvent
from tests.conftest import wait_for
from tests.monitoring.conftest import Webhook, heartbeat

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

JOB = "jobs.demo.add"


@pytest.fixture(autouse=True)
def alert_settings(settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.TASKCENTER_ALERT_WINDOW = 3600
    settings.TASKCENTER_ALERT_WEBHOOK_URL = ""
    settings.TASKCENTER_ALERT_WEBHOOK_SECRET = "hook-secret"
    settings.TASKCENTER_ALERT_WEBHOOK_RETRIES = 2
    settings.TASKCENTER_ALERT_WEBHOOK_TIMEOUT = 2
    mail.outbox = []
    return settings


def delivered(n: int) -> list[Alert]:
    """Wait until `n` alerts are recorded and none waits for its delivery thread."""

    def ready():
        rows = list(Alert.objects.order_by("id"))
        return rows if len(rows) == n and all(r.attempts for r in rows) else None

    return wait_for(ready, timeout=20, what=f"{n} delivered alerts")


def end_window(cause: str, subject: str) -> None:
    AlertState.objects.filter(key=f"{cause}:{subject}").update(
        window_started_at=timezone.now() - timedelta(hours=2)
    )


def test_a_failing_job_gets_one_mail_per_window_then_a_summary_then_recovered():
    for _ in range(5):
        alert_raise(cause=Cause.FINAL_FAILURE, subject=JOB, message="ValueError")
    delivered(1)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@example.com"]
    assert JOB in mail.outbox[0].subject

    end_window(Cause.FINAL_FAILURE, JOB)
    alerts_sweep()
    delivered(2)
    alert_resolve(causes=[Cause.FINAL_FAILURE], subject=JOB)
    rows = delivered(3)

    assert [r.kind for r in rows] == ["alert", "summary", "recovered"]
    assert rows[1].count == 4
    assert "4 more" in mail.outbox[1].subject
    assert "recovered" in mail.outbox[2].subject
    assert all(r.delivered for r in rows)


def test_a_recovery_without_an_open_alert_sends_nothing():
    alert_resolve(causes=[Cause.FINAL_FAILURE], subject=JOB)

    assert Alert.objects.count() == 0


def test_webhook_is_signed_retried_with_backoff_and_recorded(settings):
    hook = Webhook("hook-secret", fail_first=1)
    settings.TASKCENTER_ALERT_WEBHOOK_URL = hook.url
    try:
        alert_raise(cause=Cause.TIME_LIMIT, subject=JOB, message="TimeLimitExceeded")
        rows = delivered(2)
    finally:
        hook.close()

    webhook_row = next(r for r in rows if r.channel == "webhook")
    assert webhook_row.delivered is True
    assert webhook_row.attempts == 2
    assert [c["signed"] for c in hook.calls] == [True, True]
    assert hook.calls[-1]["body"]["cause"] == "time_limit"
    assert hook.calls[-1]["body"]["subject"] == JOB


def test_an_unreachable_webhook_is_recorded_with_its_error(settings):
    settings.TASKCENTER_ALERT_WEBHOOK_URL = "http://127.0.0.1:9/hook"
    settings.TASKCENTER_ALERT_WEBHOOK_RETRIES = 1
    settings.TASKCENTER_ALERT_EMAIL = False

    alert_raise(cause=Cause.FINAL_FAILURE, subject=JOB)
    (row,) = delivered(1)

    assert row.delivered is False
    assert "refused" in row.error.lower() or "error" in row.error.lower()
    assert row.attempts == 2


def test_a_job_rule_picks_its_recipients_and_its_causes():
    AlertRule.objects.create(job=JOB, causes=[Cause.TIME_LIMIT], emails="dev@example.com")

    alert_raise(cause=Cause.FINAL_FAILURE, subject=JOB)
    alert_raise(cause=Cause.TIME_LIMIT, subject=JOB)
    (row,) = delivered(1)

    assert row.cause == "time_limit"
    assert mail.outbox[0].to == ["dev@example.com"]


def test_missed_runs_alert_once_per_window_then_recover():
    every = IntervalSchedule.objects.create(every=60, period="seconds")
    task = PeriodicTask.objects.create(name="nightly", task="jobs.demo.add", interval=every)
    alerts_check_missed_runs()  # the first check sets its mark
    for minutes in (3, 2, 1):
        ScheduleEvent.objects.create(
            periodic_task=task,
            kind=ScheduleEvent.Kind.MISSED,
            slot=timezone.now() - timedelta(minutes=minutes),
            outcome=ScheduleEvent.Outcome.SKIPPED,
        )

    alerts_check_missed_runs()
    alerts_check_missed_runs()
    (row,) = delivered(1)
    assert (row.cause, row.subject) == ("missed_run", "nightly")
    assert AlertState.objects.get(key="missed_run:nightly").suppressed == 2

    end_window(Cause.MISSED_RUN, "nightly")
    alerts_sweep()  # the summary of the two repeats
    end_window(Cause.MISSED_RUN, "nightly")
    alerts_sweep()  # a window with no miss: recovered
    rows = delivered(3)
    assert [r.kind for r in rows] == ["alert", "summary", "recovered"]


def test_a_silent_worker_raises_one_alert_and_a_fresh_heartbeat_recovers(settings):
    settings.TASKCENTER_ALERT_ROLES = ["worker", "apscheduler"]
    settings.TASKCENTER_ALERT_SILENCE_AFTER = 60
    heartbeat("worker", "worker:w1@host", age=600)
    heartbeat("apscheduler", "apscheduler:host:1", age=5)

    alerts_check_processes()
    alerts_check_processes()
    (row,) = delivered(1)
    assert (row.cause, row.subject) == ("no_worker", "worker")

    heartbeat("worker", "worker:w1@host", age=1)
    alerts_check_processes()
    rows = delivered(2)
    assert rows[1].kind == "recovered"


def test_failed_local_runs_alert_once_and_a_later_success_recovers():
    alerts_check_local_runs()  # the first check sets its mark
    for _ in range(3):
        LocalJobRun.objects.create(
            job="jobs.maintenance.clear_sessions", outcome="failed", error="boom"
        )

    alerts_check_local_runs()
    (row,) = delivered(1)
    LocalJobRun.objects.create(job="jobs.maintenance.clear_sessions", outcome="success")
    alerts_check_local_runs()
    rows = delivered(2)

    assert (row.cause, row.subject) == ("final_failure", "jobs.maintenance.clear_sessions")
    assert rows[1].kind == "recovered"
    assert "2 more" in rows[1].body


def test_check_alerts_job_runs_every_check(settings):
    from jobs.maintenance import check_alerts

    settings.TASKCENTER_ALERT_ROLES = ["worker"]

    assert check_alerts() == 1
    assert Alert.objects.get().cause == "no_worker"


def test_alert_rule_form_refuses_a_bad_address_and_alerts_are_listed(admin_client):
    answer = admin_client.post(
        "/admin/taskcenter/alertrule/add/",
        {"job": JOB, "emails": "ops@example.com, not-an-address", "webhook": "on", "enabled": "on"},
    )
    assert answer.status_code == 200
    assert "not-an-address is not an email address." in answer.content.decode()
    assert AlertRule.objects.count() == 0

    created = admin_client.post(
        "/admin/taskcenter/alertrule/add/",
        {"job": JOB, "causes": ["time_limit"], "emails": "dev@example.com", "enabled": "on"},
    )
    alert_raise(cause=Cause.TIME_LIMIT, subject=JOB)
    delivered(1)
    listing = admin_client.get("/admin/taskcenter/alert/")

    assert created.status_code == 302
    assert AlertRule.objects.get().causes == ["time_limit"]
    assert listing.status_code == 200
    assert JOB in listing.content.decode()


def test_the_sweep_recovers_a_job_that_succeeded_since_its_last_failure():
    import uuid

    alert_raise(cause=Cause.FINAL_FAILURE, subject=JOB)
    delivered(1)
    TaskResult.objects.create(task_id=str(uuid.uuid4()), task_name=JOB, status="SUCCESS")

    alerts_sweep()
    rows = delivered(2)

    assert rows[1].kind == "recovered"
    assert not AlertState.objects.get(key=f"final_failure:{JOB}").active


def test_the_sweep_delivers_an_alert_whose_thread_died():
    orphan = Alert.objects.create(
        cause=Cause.FINAL_FAILURE,
        subject=JOB,
        kind="alert",
        channel="email",
        recipients="ops@example.com",
        title="lost",
    )
    Alert.objects.filter(pk=orphan.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    alerts_sweep()
    (row,) = delivered(1)

    assert row.delivered is True
    assert mail.outbox[0].subject == "lost"
