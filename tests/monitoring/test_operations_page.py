"""The operations page: its figures match known runs, and its query count is fixed."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F, Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_results.models import TaskResult

from taskcenter.models import LocalJobRun, QueueSample, RunRollup
from tests.monitoring.conftest import heartbeat

pytestmark = [pytest.mark.services, pytest.mark.django_db]

JOB = "jobs.demo.add"


@pytest.fixture
def staff(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def make_results(job: str, durations: list[float], *, failed: int = 0, wait: float = 0.5, ago=60):
    """Store finished runs of `job`: one per duration, the first `failed` of them failures."""
    now = timezone.now() - timedelta(seconds=ago)
    rows = []
    for i, d in enumerate(durations):
        started = now - timedelta(seconds=d)
        rows.append(
            TaskResult(
                task_id=str(uuid.uuid4()),
                task_name=job,
                status="FAILURE" if i < failed else "SUCCESS",
                date_created=started - timedelta(seconds=wait),
                date_started=started,
                date_done=now,
            )
        )
    TaskResult.objects.bulk_create(rows)
    # date_created and date_done are set by the model: put the known times back.
    TaskResult.objects.filter(task_id__in=[r.task_id for r in rows]).update(
        date_done=now, date_created=F("date_started") - timedelta(seconds=wait)
    )
    return rows


def job_row(response, name: str) -> dict[str, object]:
    (row,) = [r for r in response.context["jobs"] if r.name == name]
    return row


def test_page_shows_runs_failures_and_exact_percentiles_of_known_runs(staff):
    make_results(JOB, [float(s) for s in range(1, 11)], failed=2)
    LocalJobRun.objects.create(job="jobs.maintenance.cleanup", outcome="success", duration=0.2)
    LocalJobRun.objects.create(job="jobs.maintenance.cleanup", outcome="failed", duration=0.4)

    response = staff.get("/admin/operations/?window=1h")

    assert response.status_code == 200
    row = job_row(response, JOB)
    assert (row.runs, row.failures, row.runtime) == (10, 2, "celery")
    assert row.success_rate == pytest.approx(0.8)
    # Percentiles come from 20 %-wide log bins: exact to within one bin.
    assert row.p50 == pytest.approx(5.0, rel=0.2)
    assert row.p95 == pytest.approx(9.5, rel=0.2)
    assert row.p99 == pytest.approx(9.9, rel=0.2)
    assert row.wait_p95 == pytest.approx(0.5, rel=0.2)
    assert row.last_failure_url.startswith("/admin/django_celery_results/taskresult/")
    local = job_row(response, "jobs.maintenance.cleanup")
    assert (local.runtime, local.runs, local.failures) == ("local", 2, 1)
    body = response.content.decode()
    assert f'href="/admin/django_celery_results/taskresult/?job={JOB}"' in body


def test_longer_windows_read_finished_hours_from_the_rollups_and_the_current_hour_live(staff):
    make_results(JOB, [1.0, 2.0, 4.0], failed=1, ago=3 * 3600)

    first = staff.get("/admin/operations/?window=24h")
    make_results(JOB, [8.0], ago=1)
    second = staff.get("/admin/operations/?window=24h")

    assert RunRollup.objects.filter(job=JOB, metric="d").count() == 3
    assert (job_row(first, JOB).runs, job_row(first, JOB).failures) == (3, 1)
    row = job_row(second, JOB)
    assert (row.runs, row.failures) == (4, 1)
    assert row.p99 == pytest.approx(8.0, rel=0.2)
    assert row.last_failure_url.startswith("/admin/django_celery_results/taskresult/")


def test_jobs_with_no_run_in_the_window_are_still_listed_with_their_runtime(staff):
    make_results(JOB, [1.0], ago=3 * 3600)

    response = staff.get("/admin/operations/?window=1h")

    row = job_row(response, JOB)
    assert (row.runs, row.p50, row.success_rate) == (0, None, None)
    runtimes = {r.runtime for r in response.context["jobs"]}
    assert {"celery", "local", "aio"} <= runtimes


def test_jobs_sort_by_failures_descending(staff):
    make_results(JOB, [1.0] * 3, failed=1)
    make_results("jobs.demo.total", [1.0] * 3, failed=3)

    response = staff.get("/admin/operations/?window=1h&sort=-failures")

    names = [r.name for r in response.context["jobs"]]
    assert names[:2] == ["jobs.demo.total", JOB]


def test_workers_beat_apscheduler_queues_and_charts_are_shown(staff):
    heartbeat("worker", "worker:w1@host", age=1, queues=["default"], concurrency=4, jobs_running=1)
    heartbeat("worker", "worker:w2@host", age=600, queues=["email"], concurrency=1)
    heartbeat("apscheduler", "apscheduler:host:7", age=2)
    make_results(JOB, [0.5, 1.5], failed=1)
    QueueSample.objects.create(queue="default", minute=timezone.now(), waiting=7)

    response = staff.get("/admin/operations/?window=24h")

    body = response.content.decode()
    online = {w.ident: w.online for w in response.context["workers"]}
    assert online == {"worker:w1@host": True, "worker:w2@host": False}
    assert [a.online for a in response.context["apschedulers"]] == [True]
    assert {q.queue for q in response.context["queues"]} == {"default", "reports", "email"}
    for chart in ("chart-runs", "chart-durations", "chart-queues"):
        assert f'id="{chart}"><svg' in body
    assert 'data-value="7"' in body


def test_page_query_count_does_not_grow_with_the_rows(staff):
    make_results(JOB, [1.0] * 5, failed=1)
    with CaptureQueriesContext(connection) as few:
        staff.get("/admin/operations/?window=7d")
    make_results(JOB, [float(i % 9) for i in range(500)], failed=50)
    make_results("jobs.demo.total", [2.0] * 300)
    with CaptureQueriesContext(connection) as many:
        staff.get("/admin/operations/?window=7d")

    assert len(many.captured_queries) == len(few.captured_queries)


def test_index_links_to_the_operations_page_and_plain_users_are_kept_out(staff, client):
    index = staff.get("/admin/")

    assert 'href="/admin/operations/"' in index.content.decode()
    assert client.get("/admin/operations/").status_code == 302


def test_the_hourly_local_job_rolls_finished_hours_up():
    from jobs.maintenance import roll_up_runs

    make_results(JOB, [1.0, 2.0], ago=2 * 3600)

    roll_up_runs()

    assert RunRollup.objects.filter(job=JOB, metric="d").aggregate(n=Sum("runs"))["n"] == 2


def test_finished_hours_are_read_again_only_when_a_rollup_row_is_added(staff):
    make_results(JOB, [1.0, 2.0, 4.0], failed=1, ago=3 * 3600)
    with CaptureQueriesContext(connection) as first:
        read = staff.get("/admin/operations/?window=24h")
    # A rolled-up hour does not change: scaling its rows in place is not looked at ...
    RunRollup.objects.filter(job=JOB).update(runs=F("runs") * 10, failures=F("failures") * 10)
    with CaptureQueriesContext(connection) as kept:
        again = staff.get("/admin/operations/?window=24h")
    # ... until a new rollup row (a newly finished hour) moves the newest id.
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    RunRollup.objects.create(
        source="results", job=JOB, hour=hour, metric="d", bin=0, runs=5, failures=0
    )
    fresh = staff.get("/admin/operations/?window=24h")

    assert (job_row(read, JOB).runs, job_row(read, JOB).failures) == (3, 1)
    assert (job_row(again, JOB).runs, job_row(again, JOB).failures) == (3, 1)
    assert (job_row(fresh, JOB).runs, job_row(fresh, JOB).failures) == (35, 10)
    assert len(kept.captured_queries) == len(first.captured_queries)
