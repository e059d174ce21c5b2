"""What a new user meets walking the admin: the index, the schedule form, lists and pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_results.models import TaskResult

from taskcenter.models import DeadLetter
from taskcenter.services.schedules import schedule_create

pytestmark = pytest.mark.django_db

RESULTS = "admin:django_celery_results_taskresult_changelist"
RUNS = "admin:taskcenter_run_changelist"
SCHEDULES = "admin:django_celery_beat_periodictask_changelist"


def _html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def _sidebar(page: str) -> str:
    """The sidebar div (#content-related) of an admin page, nested divs included."""
    start = page.index('<div id="content-related">')
    depth, pos = 0, start
    for match in re.finditer(r"<div\b|</div>", page[start:]):
        depth += 1 if match.group() == "<div" else -1
        if depth == 0:
            pos = start + match.end()
            break
    return page[start:pos]


def test_the_beat_panel_is_inside_the_sidebar_above_recent_actions(admin_client):
    page = _html(admin_client.get(reverse("admin:index")))

    sidebar = _sidebar(page)
    assert 'id="beat-panel"' in sidebar
    assert sidebar.index('id="beat-panel"') < sidebar.index('id="recent-actions-module"')
    assert page.count('id="content-related"') == 1


def test_the_schedule_form_groups_fields_by_kind_and_lists_each_jobs_parameters(admin_client):
    page = _html(admin_client.get(reverse("admin:django_celery_beat_periodictask_add")))

    for kind in ("interval", "crontab", "clocked", "solar"):
        assert f"schedule-kind kind-{kind}" in page
    table = re.search(
        r'<table class="job-parameters" data-job="jobs.reports.build_report">.*?</table>',
        page,
        re.S,
    ).group()
    assert "<code>since_hours</code>" in table
    assert "integer" in table
    assert "<code>24</code>" in table
    assert "taskcenter/schedule_form.js" in page
    assert "Short Description For This Task" not in page
    assert "A unique name for this schedule" in page


def test_next_runs_of_a_ten_second_schedule_read_apart_to_the_second(admin_client, admin_user):
    task = schedule_create(
        user=admin_user,
        data={
            "name": "fast",
            "job": "jobs.demo.add",
            "kwargs": {"x": 1, "y": 2},
            "interval": {"every": 10, "period": "seconds"},
        },
    )

    page = _html(
        admin_client.get(reverse("admin:django_celery_beat_periodictask_change", args=[task.pk]))
    )

    runs = re.findall(r'<tr class="next-run"><td>([^<]+)</td>', page)
    assert len(runs) == 5
    assert len(set(runs)) == 5, runs
    assert all(re.search(r"\d\d:\d\d:\d\d", run) for run in runs)


def test_a_schedule_that_never_ran_shows_never_not_beats_first_look(admin_client, admin_user):
    task = schedule_create(
        user=admin_user,
        data={
            "name": "idle",
            "job": "jobs.demo.add",
            "kwargs": {"x": 1, "y": 2},
            "interval": {"every": 60, "period": "seconds"},
        },
    )
    type(task).objects.filter(pk=task.pk).update(last_run_at=timezone.now(), total_run_count=0)

    page = _html(admin_client.get(reverse(SCHEDULES)))

    row = re.search(r"<tr.*?idle.*?</tr>", page, re.S).group()
    assert re.search(r'<td class="field-last_run">never</td>', row), row


def test_result_lists_read_runs_ten_seconds_apart_apart_and_never_a_negative_wait(admin_client):
    base = timezone.now().replace(microsecond=0)
    for n in range(3):
        row = TaskResult.objects.create(
            task_id=f"t-{n}", status="SUCCESS", task_name="jobs.demo.add"
        )
        # The start stamped by the worker before the row's creation: a negative raw wait.
        TaskResult.objects.filter(pk=row.pk).update(
            date_created=base + timedelta(seconds=10 * n),
            date_started=base + timedelta(seconds=10 * n) - timedelta(milliseconds=3),
            date_done=base + timedelta(seconds=10 * n, milliseconds=500),
        )

    page = _html(admin_client.get(reverse(RESULTS)))

    created = re.findall(r'<td class="field-created">([^<]+)</td>', page)
    assert len(set(created)) == 3, created
    waits = re.findall(r'<td class="field-queue_wait">([^<]+)</td>', page)
    assert waits == ["0.000 s"] * 3


def test_result_pages_are_read_only_and_the_lists_say_what_they_hold(admin_client):
    row = TaskResult.objects.create(task_id="ro-1", status="SUCCESS", task_name="jobs.demo.add")
    now = timezone.now()
    letter = DeadLetter.objects.create(
        task_id="dl-1",
        job="jobs.demo.add",
        exception_type="ValueError",
        first_failed_at=now,
        last_failed_at=now,
    )

    results = _html(admin_client.get(reverse(RESULTS)))
    result_page = _html(
        admin_client.get(reverse("admin:django_celery_results_taskresult_change", args=[row.pk]))
    )
    letter_page = _html(
        admin_client.get(reverse("admin:taskcenter_deadletter_change", args=[letter.pk]))
    )
    runs = _html(admin_client.get(reverse(RUNS)))

    assert "Add task result" not in results
    for page in (result_page, letter_page):
        assert 'name="_save"' not in page
        assert 'name="_addanother"' not in page
        assert 'name="_continue"' not in page
    assert f'href="{reverse(RUNS)}"' in re.search(r'id="list-note">.*?</p>', results, re.S).group()
    assert f'href="{reverse(RESULTS)}"' in re.search(r'id="list-note">.*?</p>', runs, re.S).group()
    assert "taskcenter/admin.css" in results


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"
