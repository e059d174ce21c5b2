"""The results backend: one upsert per state, PENDING and STARTED visible, the real queue wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_results.backends.database import DatabaseBackend
from django_celery_results.models import TaskResult

from config.celery import app
from taskcenter import dispatch
from taskcenter.results.backend import ReconnectingDatabaseBackend, UpsertDatabaseBackend
from taskcenter.results.rows import row_upsert
from tests.conftest import start_beat, wait_for

#: A queue no test worker listens to, so a sent run stays queued.
UNCONSUMED = "nobody-consumes"

pytestmark = [pytest.mark.services, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_switch_picks_the_upsert_or_the_stock_backend():
    assert isinstance(app.backend, UpsertDatabaseBackend) == settings.TASKCENTER_FAST_RESULTS
    assert isinstance(app.backend, DatabaseBackend)
    assert settings.CELERY_TASK_TRACK_STARTED


def test_a_delayed_run_records_its_queue_wait_start_and_result(celery_worker):
    run = dispatch.submit("jobs.reports.build_report", kwargs={"since_hours": 1}, countdown=1.5)

    row = wait_for(
        lambda: TaskResult.objects.filter(task_id=run.id, status="SUCCESS").first(),
        timeout=30,
        what="the result row",
    )

    if settings.TASKCENTER_FAST_RESULTS:
        # Only the upsert backend keeps the enqueue time: the stock one stamps the first store.
        assert (row.date_started - row.date_created).total_seconds() >= 1.4
    assert row.date_done >= row.date_started
    assert row.worker == celery_worker
    assert row.task_name == "jobs.reports.build_report"
    assert "since_hours" in row.task_kwargs
    assert dispatch.result(run.id, timeout=5)["path"].endswith(".json")


def test_a_failure_is_stored_with_its_traceback(celery_worker):
    run = dispatch.submit("jobs.reports.build_report", kwargs={"fmt": "xml"})

    row = wait_for(
        lambda: TaskResult.objects.filter(task_id=run.id, status="FAILURE").first(),
        timeout=30,
        what="the failed result",
    )

    assert "fmt must be 'json' or 'csv'" in row.traceback
    assert row.date_started is not None
    with pytest.raises(ValueError, match="fmt must be"):
        dispatch.result(run.id, timeout=5)


@pytest.mark.slow
def test_a_scheduled_run_shows_as_pending_while_it_waits_in_the_queue(tmp_path):
    # Given a schedule sent by stock beat to a queue no worker consumes
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    PeriodicTask.objects.create(
        name="queued",
        task="jobs.reports.build_report",
        interval=every,
        queue=UNCONSUMED,
        kwargs='{"since_hours": 1}',
    )
    beat = start_beat(tmp_path)
    try:
        # When beat sends it, then its PENDING row is there, with when it was queued
        row = wait_for(
            lambda: TaskResult.objects.filter(periodic_task_name="queued").first(),
            timeout=40,
            what="the PENDING row of the queued run",
        )
    finally:
        beat.stop()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(UNCONSUMED)

    assert row.status == "PENDING"
    assert row.task_name == "jobs.reports.build_report"
    assert "since_hours" in row.task_kwargs


@pytest.mark.django_db
def test_beat_buffers_pending_rows_of_scheduled_runs_until_it_flushes(monkeypatch):
    from taskcenter.results import pending_rows

    # Given a process that buffers (beat does, so 333 sends a second are not 333 INSERTs)
    monkeypatch.setattr(pending_rows, "_pending_buffered", True)

    # When a scheduled run is published
    pending_rows._record_scheduled_run(
        sender="jobs.reports.build_report",
        headers={"id": "buffered-run-1", "periodic_task_name": "nightly report"},
    )

    # Then its PENDING row is written at the flush, not before
    assert not TaskResult.objects.filter(task_id="buffered-run-1").exists()
    assert pending_rows.pending_flush() == 1
    row = TaskResult.objects.get(task_id="buffered-run-1")
    assert (row.status, row.periodic_task_name) == ("PENDING", "nightly report")


def test_a_run_still_going_after_the_started_delay_shows_as_started(celery_worker):
    # Given a run that works for a few seconds before it reports anything
    run = dispatch.submit("jobs.demo.slow", kwargs={"seconds": 4, "steps": 1})

    # When it has been going for longer than TASKCENTER_RESULT_STARTED_DELAY
    started = wait_for(
        lambda: TaskResult.objects.filter(task_id=run.id, status="STARTED").first(),
        timeout=30,
        what="the STARTED row",
    )
    done = wait_for(
        lambda: TaskResult.objects.filter(task_id=run.id, status="SUCCESS").first(),
        timeout=30,
        what="the result",
    )

    # Then it showed as STARTED while it ran, and its final row keeps that start time
    assert started.worker == celery_worker
    assert done.date_started == started.date_started
    assert (done.date_done - done.date_started).total_seconds() >= 3.9


def _row(**changes: Any) -> dict[str, Any]:
    """A stored SUCCESS row of jobs.demo.add, as `row_upsert` takes it, with `changes`."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return {
        "task_id": "finished-first",
        "status": "SUCCESS",
        "result": "42",
        "traceback": None,
        "meta": '{"children": []}',
        "content_encoding": "utf-8",
        "content_type": "application/json",
        "periodic_task_name": None,
        "task_name": "jobs.demo.add",
        "task_args": None,
        "task_kwargs": None,
        "worker": "w1",
        "date_created": now,
        "date_started": now,
        "date_done": now,
        **changes,
    }


@pytest.mark.django_db
def test_a_late_started_row_never_replaces_a_final_state():
    row = _row()
    # Given a run whose final state another process stored first
    row_upsert(row, "default")

    # When a STARTED row for it arrives late
    row_upsert({**row, "status": "STARTED", "result": '{"pid": 1}', "worker": "w2"}, "default")

    # Then the final state and its result stand
    stored = TaskResult.objects.get(task_id="finished-first")
    assert (stored.status, stored.result, stored.worker) == ("SUCCESS", "42", "w1")


@pytest.mark.django_db
def test_the_stock_backend_keeps_a_final_state_when_a_redelivery_stores_started():
    backend = ReconnectingDatabaseBackend(app=app)
    # Given a run that ended
    backend.store_result("redelivered", 42, "SUCCESS")

    # When its message, delivered again, stores STARTED before the task skips it
    backend.store_result("redelivered", {"pid": 1, "hostname": "w2"}, "STARTED")

    # Then the success and its result stand
    stored = TaskResult.objects.get(task_id="redelivered")
    assert (stored.status, stored.result) == ("SUCCESS", "42")


@pytest.mark.django_db
def test_the_started_row_of_a_retry_takes_its_own_start_and_worker():
    first = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(minutes=5)
    # Given a run whose first attempt stored RETRY
    row_upsert(_row(task_id="retried", status="RETRY", date_started=first, worker="w1"), "default")

    # When its second attempt, on another worker, is still going after the delay
    second = first + timedelta(seconds=30)
    row_upsert(
        _row(task_id="retried", status="STARTED", date_started=second, worker="w2"), "default"
    )

    # Then the row shows that attempt
    stored = TaskResult.objects.get(task_id="retried")
    assert (stored.status, stored.worker) == ("STARTED", "w2")
    assert stored.date_started.replace(tzinfo=None) == second
