"""Maintenance jobs delete what is expired and keep what is not."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_celery_results.models import TaskResult

from jobs.logic.maintenance import results_delete_older_than
from jobs.maintenance import clear_sessions, purge_results

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_clear_sessions_deletes_only_expired_sessions():
    live = SessionStore()
    live.create()
    expired = SessionStore()
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - timedelta(days=1)
    )

    removed = clear_sessions()

    assert removed == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]


def test_old_results_are_deleted_in_batches_and_recent_ones_kept(settings):
    settings.RESULTS_RETENTION_DAYS = 30
    old = timezone.now() - timedelta(days=31)
    TaskResult.objects.bulk_create(
        [TaskResult(task_id=f"old-{i}", status="SUCCESS") for i in range(25)]
        + [TaskResult(task_id="new", status="SUCCESS")]
    )
    TaskResult.objects.filter(task_id__startswith="old-").update(date_done=old)

    assert results_delete_older_than(days=30, batch=10) == 25
    assert list(TaskResult.objects.values_list("task_id", flat=True)) == ["new"]
    assert purge_results() == 0
