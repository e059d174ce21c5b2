"""What the schedule and result pages show: statistics from the database, next runs, history."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_results.models import TaskResult

from taskcenter.selectors.schedules import schedule_next_runs, schedule_run_stats
from taskcenter.services.schedules import schedule_create, schedule_pause, schedule_update

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:django_celery_beat_periodictask_changelist"
UTC = UTC


def add_run(
    schedule: str,
    *,
    status: str = "SUCCESS",
    seconds: float = 1.0,
    ago: float = 0.0,
    job: str = "jobs.reports.build_report",
    worker: str = "w1@host",
) -> TaskResult:
    created = timezone.now() - timedelta(seconds=ago)
    row = TaskResult.objects.create(
        task_id=str(uuid.uuid4()),
        status=status,
        task_name=job,
        periodic_task_name=schedule,
        worker=worker,
    )
    started = created + timedelta(seconds=0.5)
    TaskResult.objects.filter(pk=row.pk).update(
        date_created=created,
        date_started=started,
        date_done=started + timedelta(seconds=seconds),
    )
    return row


def schedule(user, name: str, **data):
    base = {"name": name, "job": "jobs.reports.build_report"}
    if not {"interval", "crontab", "clocked", "solar"} & set(data):
        base["interval"] = {"every": 60}
    return schedule_create(user=user, data={**base, **data})


def test_run_stats_cover_only_the_newest_fifty_runs(admin_user):
    schedule(admin_user, "busy")
    for i in range(10):  # older than the window: all failures, all slow
        add_run("busy", status="FAILURE", seconds=999, ago=1000 + i)
    for i in range(50):  # durations 1..50 s; every fifth run failed
        add_run("busy", status="FAILURE" if i % 5 == 0 else "SUCCESS", seconds=i + 1, ago=50 - i)

    stats = schedule_run_stats(names=["busy", "idle"])["busy"]

    assert (stats.finished, stats.succeeded) == (50, 40)
    assert stats.success_rate == pytest.approx(0.8)
    assert stats.p50 == pytest.approx(25.0, abs=0.01)
    assert stats.p95 == pytest.approx(48.0, abs=0.01)
    assert stats.last_status == "SUCCESS"


def test_list_page_shows_the_columns_with_queries_not_growing_with_schedules(
    admin_client, admin_user
):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = admin_client.get(reverse(CHANGELIST))
        assert response.status_code == 200
        return len(captured)

    schedule(admin_user, "s0")
    add_run("s0", status="FAILURE", seconds=2)
    add_run("s0", status="SUCCESS", seconds=4, ago=10)
    few = queries_for_list()
    for i in range(1, 8):
        schedule(
            admin_user, f"s{i}", crontab={"minute": "0", "hour": "3", "timezone": "Europe/Paris"}
        )
        add_run(f"s{i}", seconds=i)

    many = queries_for_list()
    page = admin_client.get(reverse(CHANGELIST)).content.decode()

    assert many == few
    assert "every 60 seconds" in page
    assert "At 03:00 AM Europe/Paris" in page
    assert "50% of 2" in page
    assert "FAILURE" in page
    assert "2.000 s" in page
    assert "4.000 s" in page


def test_next_runs_are_in_the_schedules_timezone_and_flag_dst_gap_and_repeat(admin_user):
    task = schedule(
        admin_user, "night", crontab={"minute": "30", "hour": "2", "timezone": "Europe/Paris"}
    )

    spring = schedule_next_runs(task=task, now=datetime(2027, 3, 26, 12, tzinfo=UTC))
    autumn = schedule_next_runs(task=task, now=datetime(2027, 10, 29, 12, tzinfo=UTC))

    assert [r.at.day for r in spring] == [27, 28, 29, 30, 31]
    assert [r.dst for r in spring] == ["", "gap", "", "", ""]
    assert str(spring[0].at.tzinfo) == "Europe/Paris"
    assert [r.dst for r in autumn] == ["", "repeat", "", "", ""]
    assert autumn[1].at.date().isoformat() == "2027-10-31"


def test_next_runs_of_an_interval_follow_the_last_run(admin_user):
    task = schedule(admin_user, "often")
    task.last_run_at = datetime(2030, 1, 1, 12, tzinfo=UTC)

    runs = schedule_next_runs(task=task, now=datetime(2030, 1, 1, 12, 0, 30, tzinfo=UTC))

    assert [r.at.astimezone(UTC).strftime("%H:%M") for r in runs] == [
        "12:01",
        "12:02",
        "12:03",
        "12:04",
        "12:05",
    ]


def test_change_page_shows_words_next_runs_and_recent_runs_linked(admin_client, admin_user):
    task = schedule(
        admin_user, "night", crontab={"minute": "30", "hour": "2", "timezone": "America/New_York"}
    )
    failed = add_run("night", status="FAILURE", seconds=3)
    TaskResult.objects.filter(pk=failed.pk).update(traceback="Traceback...\nValueError: boom")
    pending = TaskResult.objects.create(task_id="p-1", status="PENDING", periodic_task_name="night")

    page = admin_client.get(
        reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
    ).content.decode()

    assert "At 02:30 AM America/New_York" in page
    assert page.count('class="next-run"') == 5
    assert page.count('class="recent-run"') == 2
    assert "ValueError: boom" in page
    assert "3.000 s" in page
    assert "0.500 s" in page
    assert reverse("admin:django_celery_results_taskresult_change", args=[failed.pk]) in page
    assert reverse("admin:django_celery_results_taskresult_change", args=[pending.pk]) in page


def test_history_page_lists_who_changed_what(admin_client, admin_user, runner, report_schedule):
    schedule_update(user=runner, task=report_schedule, data={"queue": "reports"})
    schedule_pause(user=admin_user, task=report_schedule, until=timezone.now() + timedelta(hours=2))

    page = admin_client.get(
        reverse("admin:django_celery_beat_periodictask_history", args=[report_schedule.pk])
    ).content.decode()

    assert page.count('class="change-row"') == 3
    assert "queue: — → reports" in page
    assert ">runner<" in page
    assert ">admin<" in page
    assert "paused" in page
    assert "edited" in page
    assert "created" in page


def test_a_viewer_sees_the_history_but_a_stranger_does_not(client_for, viewer, report_schedule):
    url = reverse("admin:django_celery_beat_periodictask_history", args=[report_schedule.pk])

    assert client_for(viewer).get(url).status_code == 200
    viewer.user_permissions.clear()
    assert client_for(viewer).get(url).status_code == 403


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=FAILURE", {"b"}),
        ("job=jobs.email.send_email", {"c"}),
        ("schedule=alpha", {"a", "b"}),
        ("worker__exact=w2%40host", {"c"}),
        ("status=PENDING", {"d"}),
    ],
)
def test_result_admin_filters_by_status_job_schedule_and_worker(admin_client, query, expected):
    ids = {
        "a": add_run("alpha"),
        "b": add_run("alpha", status="FAILURE"),
        "c": add_run("", job="jobs.email.send_email", worker="w2@host"),
    }
    ids["d"] = TaskResult.objects.create(task_id="pending-1", status="PENDING")
    by_pk = {row.pk: key for key, row in ids.items()}

    response = admin_client.get(
        reverse("admin:django_celery_results_taskresult_changelist") + "?" + query
    )

    assert {by_pk[row.pk] for row in response.context["cl"].result_list} == expected


def test_result_admin_filters_by_date_and_searches_by_task_id(admin_client):
    old = add_run("alpha", ago=3 * 86400)
    new = add_run("alpha")
    url = reverse("admin:django_celery_results_taskresult_changelist")
    since = (timezone.now() - timedelta(days=1)).date().isoformat()

    by_date = admin_client.get(f"{url}?date_done__gte={since}").context["cl"].result_list
    by_id = admin_client.get(f"{url}?q={old.task_id}").context["cl"].result_list

    assert [r.pk for r in by_date] == [new.pk]
    assert [r.pk for r in by_id] == [old.pk]


def test_next_runs_of_a_solar_schedule_are_the_next_sunrises(admin_user):
    task = schedule(
        admin_user, "dawn", solar={"event": "sunrise", "latitude": 48.85, "longitude": 2.35}
    )

    runs = schedule_next_runs(task=task, now=datetime(2026, 11, 28, 12, tzinfo=UTC))

    # Paris sunrise in late November is a little after 07:00 UTC, one a day.
    assert [r.at.astimezone(UTC).day for r in runs] == [29, 30, 1, 2, 3]
    assert all(7 <= r.at.astimezone(UTC).hour < 8 for r in runs)
