"""`/metrics` over real HTTP: protected, and its figures agree with runs a real worker made."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django_celery_results.models import TaskResult
from prometheus_client.parser import text_string_to_metric_families

from taskcenter.models import DeadLetter, LocalJobRun
from taskcenter.monitoring.figures import DURATION_BUCKETS
from taskcenter.monitoring.metrics import METRIC_NAMES
from tests.conftest import wait_for
from tests.monitoring.conftest import heartbeat, send

pytestmark = [pytest.mark.services, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TOKEN = "scrape-secret-0123456789"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _get(samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def token(settings) -> str:
    settings.TASKCENTER_METRICS_TOKEN = TOKEN
    settings.TASKCENTER_METRICS_PUBLIC = False
    return TOKEN


def test_metrics_refuse_anonymous_and_wrong_tokens_and_plain_users(http, token):
    User.objects.create_user("plain", password="pw")

    anonymous = http.get("/metrics")
    wrong = http.get("/metrics", token="not-it")
    assert anonymous.status == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert wrong.status == 401
    assert "detail" in wrong.body


def test_metrics_open_to_a_staff_session_and_refused_to_a_non_staff_one(live_server, token):
    from django.test import Client

    staff = User.objects.create_user("ops", password="pw", is_staff=True)
    plain = User.objects.create_user("plain", password="pw")
    staff_client, plain_client = Client(), Client()
    staff_client.force_login(staff)
    plain_client.force_login(plain)

    assert staff_client.get("/metrics").status_code == 200
    assert plain_client.get("/metrics").status_code == 403


def test_metrics_open_to_anyone_only_when_the_setting_says_so(http, settings):
    settings.TASKCENTER_METRICS_TOKEN = ""
    settings.TASKCENTER_METRICS_PUBLIC = True

    assert http.get("/metrics").status == 200


def test_metrics_agree_with_the_runs_a_real_worker_made(http, token, monitoring_worker):
    ids = [send("tests.monitoring.ok", seconds=s) for s in (0.0, 0.2, 0.6)]
    ids += [send("tests.monitoring.boom"), send("tests.monitoring.flaky")]
    ids += [
        send(
            "tests.monitoring.overrun",
            seconds=10,
            options={"soft_time_limit": 0.5, "time_limit": 1.5},
        )
    ]
    wait_for(
        lambda: (
            TaskResult.objects.filter(task_id__in=ids, status__in=("SUCCESS", "FAILURE")).count()
            == len(ids)
        ),
        timeout=60,
        what="every run to finish",
    )
    LocalJobRun.objects.create(job="jobs.maintenance.x", outcome="success", duration=0.1)
    LocalJobRun.objects.create(job="jobs.maintenance.x", outcome="failed", duration=0.1)
    heartbeat("apscheduler", "apscheduler:host:1", age=1)

    answer = http.get("/metrics", token=token)

    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples = _samples(answer.raw.decode())
    rows = {r.task_id: r for r in TaskResult.objects.filter(task_id__in=ids)}
    assert (
        _get(
            samples,
            "taskcenter_runs",
            job="tests.monitoring.ok",
            runtime="unknown",
            state="SUCCESS",
        )
        == 3
    )
    for job in ("boom", "flaky", "overrun"):
        assert (
            _get(
                samples,
                "taskcenter_runs",
                job=f"tests.monitoring.{job}",
                runtime="unknown",
                state="FAILURE",
            )
            == 1
        ), job
    assert "TimeLimitExceeded" in rows[ids[-1]].result
    ok_durations = [(rows[i].date_done - rows[i].date_started).total_seconds() for i in ids[:3]]
    for bound in DURATION_BUCKETS:
        expected = sum(d <= bound for d in ok_durations)
        got = _get(
            samples,
            "taskcenter_run_duration_seconds_bucket",
            job="tests.monitoring.ok",
            le=repr(bound),
        )
        assert got == expected, bound
    assert _get(samples, "taskcenter_run_duration_seconds_count", job="tests.monitoring.ok") == 3
    assert _get(
        samples, "taskcenter_run_duration_seconds_sum", job="tests.monitoring.ok"
    ) == pytest.approx(sum(ok_durations), abs=1e-3)
    assert (
        _get(samples, "taskcenter_local_job_runs", job="jobs.maintenance.x", outcome="failed") == 1
    )
    assert (
        _get(samples, "taskcenter_dead_letters") == DeadLetter.objects.filter(status="open").count()
    )
    # This module's worker at least (a session-wide worker of other modules may run too).
    assert _get(samples, "taskcenter_workers_online") >= 1
    assert _get(samples, "taskcenter_processes_online", role="apscheduler") == 1
    assert _get(samples, "taskcenter_broker_up") == 1
    assert _get(samples, "taskcenter_queue_messages", queue="default") == 0

    # And the operations page shows the same runs and failures
    from django.test import Client

    staff = Client()
    staff.force_login(User.objects.create_user("ops", password="pw", is_staff=True))
    page = {r.name: r for r in staff.get("/admin/operations/?window=1h").context["jobs"]}
    assert (page["tests.monitoring.ok"].runs, page["tests.monitoring.ok"].failures) == (3, 0)
    for job in ("boom", "flaky", "overrun"):
        assert (page[f"tests.monitoring.{job}"].runs, page[f"tests.monitoring.{job}"].failures) == (
            1,
            1,
        )
    assert page["tests.monitoring.ok"].p99 == pytest.approx(max(ok_durations), rel=0.25)
    assert page["tests.monitoring.overrun"].last_failure_url


def test_metrics_export_every_documented_name_and_the_same_numbers_twice(http, token):
    first = http.get("/metrics", token=token).raw.decode()
    names = {family.name for family in text_string_to_metric_families(first)}
    assert set(METRIC_NAMES) <= names

    # Other tests' workers keep writing heartbeats, and one landing (or going stale)
    # between two scrapes changes the numbers for real: a few pairs are allowed for one
    # taken while nothing moved.
    pairs = []
    for _ in range(5):
        second = http.get("/metrics", token=token).raw.decode()
        pairs.append(_samples(first) == _samples(second))
        if pairs[-1]:
            break
        first = second
    assert pairs[-1], "no two consecutive scrapes agreed"


def test_metrics_count_messages_waiting_and_the_oldest_age(http, token, settings):
    from kombu import Exchange, Queue

    from config.celery import app

    # A queue of this test alone: no worker of the run consumes it.
    name = "tc-monitoring-idle"
    settings.CELERY_TASK_QUEUES = [
        *settings.CELERY_TASK_QUEUES,
        Queue(name, Exchange(name), routing_key=name),
    ]
    ids = [app.send_task("tests.monitoring.ok", queue=name).id for _ in range(3)]
    try:
        samples = _samples(http.get("/metrics", token=token).raw.decode())
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(name)

    assert ids
    assert _get(samples, "taskcenter_queue_messages", queue=name) == 3
    assert _get(samples, "taskcenter_queue_oldest_age_seconds", queue=name) >= 0
