"""Retention: old results go in bounded batches, new ones stay, the cleanup is installed."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_results.models import TaskResult

from jobs.maintenance import purge_results
from taskcenter.local.scheduler import LocalScheduler
from taskcenter.results.retention import results_purge

pytestmark = pytest.mark.django_db


def add_results(count: int, *, age: timedelta, name: str) -> None:
    """Store `count` results named `name` that finished `age` ago (date_done is auto_now)."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    TaskResult.objects.bulk_create(
        TaskResult(task_id=task_id, status="SUCCESS", task_name=name) for task_id in ids
    )
    TaskResult.objects.filter(task_id__in=ids).update(date_done=timezone.now() - age)


@pytest.mark.services
def test_purge_deletes_old_results_in_batches_without_reading_them():
    add_results(2500, age=timedelta(days=40), name="aged")
    add_results(10, age=timedelta(days=29), name="fresh")

    with CaptureQueriesContext(connection) as captured:
        deleted = results_purge(older_than=timedelta(days=30), batch=1000)

    assert deleted == 2500
    assert set(TaskResult.objects.values_list("task_name", flat=True)) == {"fresh"}
    deletes = [q["sql"] for q in captured if q["sql"].startswith("DELETE")]
    selects = [q["sql"] for q in captured if q["sql"].startswith("SELECT")]
    assert len(deletes) == 3  # ids of 2,500 expired rows in slices of 1,000
    assert len(selects) == 1
    assert selects[0].startswith("SELECT MIN(id), MAX(id)")


def test_nightly_cleanup_is_installed_and_uses_the_configured_age(settings):
    settings.RESULTS_RETENTION_DAYS = 2
    add_results(30, age=timedelta(days=3), name="aged")
    add_results(5, age=timedelta(hours=1), name="fresh")

    installed = LocalScheduler().load_catalog()
    deleted = purge_results()

    assert "jobs.maintenance.purge_results" in installed
    assert deleted == 30
    assert set(TaskResult.objects.values_list("task_name", flat=True)) == {"fresh"}
