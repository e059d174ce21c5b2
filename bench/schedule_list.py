"""Bench: the schedule and result list pages with 10,000 schedules and 1,000,000 results.

Renders each admin changelist (first page, as a superuser) several times and reports the
median, ours against the bare libraries' own admins (django-celery-beat's
PeriodicTaskAdmin, django-celery-results' TaskResultAdmin) on the same data, same run.

    .venv/bin/python bench/schedule_list.py --schedules 10000 --results 1000000 \
        --database-url mysql://root:@127.0.0.1:3306/taskcenter_i3_list
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench._common import mysql_database_create  # noqa: E402


def setup(url: str) -> None:
    mysql_database_create(url)
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)


def fill(schedules: int, results: int) -> None:
    """Create the schedules (every third a Paris crontab) and results spread over them."""
    from django.db import connection
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    if PeriodicTask.objects.filter(name__startswith="schedule ").count() == schedules:
        with connection.cursor() as c:
            c.execute("SELECT COUNT(*) FROM django_celery_results_taskresult")
            if c.fetchone()[0] >= results:
                return
    PeriodicTask.objects.all().delete()
    every, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    cron, _ = CrontabSchedule.objects.get_or_create(minute="30", hour="2", timezone="Europe/Paris")
    PeriodicTask.objects.bulk_create(
        [
            PeriodicTask(
                name=f"schedule {i}",
                task="jobs.reports.build_report",
                interval=None if i % 3 == 0 else every,
                crontab=cron if i % 3 == 0 else None,
            )
            for i in range(schedules)
        ],
        batch_size=2000,
    )
    insert = (
        "INSERT INTO django_celery_results_taskresult (task_id, status, content_type,"
        " content_encoding, task_name, periodic_task_name, worker, date_created,"
        " date_started, date_done) VALUES (UUID(), %s, 'application/json', 'utf-8',"
        " 'jobs.reports.build_report', %s, 'bench@host', NOW(6) - INTERVAL %s SECOND,"
        " NOW(6) - INTERVAL %s SECOND, NOW(6) - INTERVAL %s SECOND)"
    )
    with connection.cursor() as c:
        c.execute("TRUNCATE TABLE django_celery_results_taskresult")
        c.executemany(
            insert,
            [
                (
                    "FAILURE" if i % 7 == 0 else "SUCCESS",
                    f"schedule {i % schedules}",
                    i + 2,
                    i + 1.5,
                    i % 5 + 0.1,
                )
                for i in range(2000)
            ],
        )
        have = 2000
        while have < results:
            step = min(have, results - have)
            c.execute(
                "INSERT INTO django_celery_results_taskresult (task_id, status, content_type,"
                " content_encoding, task_name, periodic_task_name, worker, date_created,"
                " date_started, date_done) SELECT UUID(), status, content_type,"
                " content_encoding, task_name,"
                f" CONCAT('schedule ', FLOOR(RAND() * {schedules})), worker,"
                " date_created - INTERVAL 1 HOUR, date_started - INTERVAL 1 HOUR,"
                " date_done - INTERVAL 1 HOUR"
                f" FROM django_celery_results_taskresult LIMIT {step}"
            )
            have += step


def median_ms(view, request, repeat: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = view(request)
            response.render()
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return statistics.median(timings), len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--results", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default="mysql://root:@127.0.0.1:3306/taskcenter_i3_list")
    options = parser.parse_args()
    setup(options.database_url)
    started = time.perf_counter()
    fill(options.schedules, options.results)
    print(
        f"data: {options.schedules:,} schedules, {options.results:,} results "
        f"(ready in {time.perf_counter() - started:.0f} s)"
    )

    from django.contrib import admin
    from django.contrib.auth.models import User
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.test import RequestFactory
    from django_celery_beat.admin import PeriodicTaskAdmin
    from django_celery_beat.models import PeriodicTask
    from django_celery_results.admin import TaskResultAdmin
    from django_celery_results.models import TaskResult

    from taskcenter.admin.results import ResultAdmin
    from taskcenter.admin.schedules import ScheduleAdmin

    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@example.com", "bench"
    )
    stock_site = admin.AdminSite(name="stock")
    pages = [
        ("schedules", "ours", ScheduleAdmin(PeriodicTask, admin.site)),
        ("schedules", "stock", PeriodicTaskAdmin(PeriodicTask, stock_site)),
        ("results", "ours", ResultAdmin(TaskResult, admin.site)),
        ("results", "stock", TaskResultAdmin(TaskResult, stock_site)),
    ]
    figures = {}
    for page, label, model_admin in pages:
        request = RequestFactory().get("/")
        request.user = user
        request.session = {}
        request._messages = FallbackStorage(request)
        ms, queries = median_ms(model_admin.changelist_view, request, options.repeat)
        figures[(page, label)] = ms
        print(f"{page:9} {label:5} median {ms:8.1f} ms  ({queries} queries)")
    for page in ("schedules", "results"):
        print(f"{page}: ours/stock {figures[(page, 'ours')] / figures[(page, 'stock')]:.2f}")


if __name__ == "__main__":
    main()
