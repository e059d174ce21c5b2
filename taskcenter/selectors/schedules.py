"""Read schedules: their runs' statistics (in the database), next run times, history."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from celery import states
from celery.schedules import crontab as celery_crontab
from celery.schedules import solar as celery_solar
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult

from taskcenter.models import ScheduleChange
from taskcenter.selectors.timings import duration_seconds, queue_wait_seconds

#: Runs the list page's success rate and p50/p95 look at: recent enough to describe the
#: schedule as it behaves now, few enough that each schedule reads one index range.
STATS_WINDOW = 50
#: How far ahead next-run times are searched: a yearly cron needs five years for five runs.
NEXT_RUNS_HORIZON_DAYS = 5 * 366 + 1


@dataclass(frozen=True)
class RunStats:
    """What the list page shows about one schedule's last STATS_WINDOW runs."""

    last_status: str | None
    last_at: datetime | None
    finished: int
    succeeded: int
    p50: float | None
    p95: float | None

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.finished if self.finished else None


@dataclass(frozen=True)
class NextRun:
    """One upcoming run, in the schedule's time zone, flagged when DST makes it odd."""

    at: datetime
    dst: str = ""  # "", "gap" (wall time skipped by the clock) or "repeat" (occurs twice)


def _duration_sql() -> str:
    if connection.vendor == "mysql":
        return "TIMESTAMPDIFF(MICROSECOND, date_started, date_done) / 1000000.0"
    return "(julianday(date_done) - julianday(date_started)) * 86400.0"


def schedule_run_stats(*, names: list[str], window: int = STATS_WINDOW) -> dict[str, RunStats]:
    """Return RunStats per schedule name, computed by one SQL statement.

    Each name reads only its newest `window` result rows through the
    (periodic_task_name, date_created) index, so the cost does not grow with the size
    of the results table; percentiles are ranks over those rows (portable to SQLite).
    """
    if not names:
        return {}
    table = connection.ops.quote_name(TaskResult._meta.db_table)
    part = (
        f"SELECT * FROM (SELECT periodic_task_name AS name, status, date_created AS created, "
        f"{_duration_sql()} AS dur FROM {table} WHERE periodic_task_name = %s "
        f"ORDER BY date_created DESC, id DESC LIMIT {int(window)}) AS p{{i}}"
    )
    union = " UNION ALL ".join(part.format(i=i) for i in range(len(names)))
    finals = ", ".join(f"'{s}'" for s in sorted(states.READY_STATES))
    sql = f"""
        SELECT name,
          MAX(CASE WHEN rn = 1 THEN status END),
          MAX(CASE WHEN rn = 1 THEN created END),
          SUM(CASE WHEN status IN ({finals}) THEN 1 ELSE 0 END),
          SUM(CASE WHEN status = 'SUCCESS' THEN 1 ELSE 0 END),
          MIN(CASE WHEN drank * 100 >= dcnt * 50 THEN dur END),
          MIN(CASE WHEN drank * 100 >= dcnt * 95 THEN dur END)
        FROM (
          SELECT name, status, created, dur,
            ROW_NUMBER() OVER (PARTITION BY name ORDER BY created DESC) AS rn,
            ROW_NUMBER() OVER (PARTITION BY name
                               ORDER BY CASE WHEN dur IS NULL THEN 1 ELSE 0 END, dur) AS drank,
            COUNT(dur) OVER (PARTITION BY name) AS dcnt
          FROM ({union}) AS recent
        ) AS ranked
        GROUP BY name
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, names)
        rows = cursor.fetchall()
    stats = {}
    for name, status, created, finished, ok, p50, p95 in rows:
        if isinstance(created, str):
            created = datetime.fromisoformat(created)
        if created is not None and timezone.is_naive(created):
            created = created.replace(tzinfo=zoneinfo.ZoneInfo("UTC"))
        stats[name] = RunStats(
            last_status=status,
            last_at=created,
            finished=int(finished or 0),
            succeeded=int(ok or 0),
            p50=None if p50 is None else float(p50),
            p95=None if p95 is None else float(p95),
        )
    return stats


def schedule_tz(task: PeriodicTask) -> zoneinfo.ZoneInfo:
    """Return the time zone the schedule's times are shown in (the crontab's own, if any)."""
    if task.crontab_id:
        return zoneinfo.ZoneInfo(str(task.crontab.timezone))
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _wall_flag(wall: datetime, tz: zoneinfo.ZoneInfo) -> str:
    """Say whether local wall time `wall` is skipped ("gap") or occurs twice ("repeat")."""
    first, second = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return ""
    round_trip = first.astimezone(zoneinfo.ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None)
    return "gap" if round_trip != wall else "repeat"


def _cron_runs(task: PeriodicTask, now: datetime, count: int) -> list[NextRun]:
    c = task.crontab
    tz = schedule_tz(task)
    spec = celery_crontab(
        minute=c.minute,
        hour=c.hour,
        day_of_week=c.day_of_week,
        day_of_month=c.day_of_month,
        month_of_year=c.month_of_year,
    )
    local_now = now.astimezone(tz).replace(tzinfo=None)
    slots = sorted((h, m) for h in spec.hour for m in spec.minute)
    runs: list[NextRun] = []
    day: date = local_now.date()
    for _day in range(NEXT_RUNS_HORIZON_DAYS):
        if (
            day.month in spec.month_of_year
            and day.day in spec.day_of_month
            and (day.weekday() + 1) % 7 in spec.day_of_week
        ):
            for hour, minute in slots:
                wall = datetime.combine(day, time(hour, minute))
                if wall <= local_now:
                    continue
                runs.append(NextRun(at=wall.replace(tzinfo=tz), dst=_wall_flag(wall, tz)))
                if len(runs) == count:
                    return runs
        day += timedelta(days=1)
    return runs


def schedule_next_runs(
    *, task: PeriodicTask, count: int = 5, now: datetime | None = None
) -> list[NextRun]:
    """Return the next `count` run times in the schedule's time zone (none when disabled).

    Crontab times are walked on the local wall clock, so a slot the clock skips (spring
    forward) is flagged "gap" and one it passes twice (fall back) "repeat".
    """
    now = now or timezone.now()
    if task.crontab_id:
        return _cron_runs(task, now, count)
    tz = schedule_tz(task)
    if task.interval_id:
        step = timedelta(**{task.interval.period: task.interval.every})
        start = task.last_run_at or task.start_time or now
        first = start + step
        if first < now:
            first += step * ((now - first) // step + 1)
        return [NextRun(at=(first + step * i).astimezone(tz)) for i in range(count)]
    if task.clocked_id:
        at = task.clocked.clocked_time
        return [NextRun(at=at.astimezone(tz))] if at > now and task.enabled else []
    if task.solar_id:
        return _solar_runs(task, now, count, tz)
    return []


def _solar_runs(task: PeriodicTask, now: datetime, count: int, tz: Any) -> list[NextRun]:
    """Walk Celery's own solar schedule (ephem) forward from `now`, one event at a time.

    `remaining_estimate(after)` answers relative to the schedule's clock, not to `after`,
    so the clock is pinned to `now` and each event is `now + estimate(previous + 1 min)`.
    """
    event = celery_solar(
        task.solar.event,
        float(task.solar.latitude),
        float(task.solar.longitude),
        nowfun=lambda: now,
    )
    runs: list[NextRun] = []
    after = now
    for _n in range(count):
        at = now + event.remaining_estimate(after)
        runs.append(NextRun(at=at.astimezone(tz)))
        after = at + timedelta(minutes=1)
    return runs


def schedule_in_words(task: PeriodicTask) -> str:
    """Describe the schedule for people ("every 5 minutes", "At 03:30 Europe/Paris")."""
    if task.interval_id:
        return f"every {task.interval}".replace("every every", "every")
    if task.crontab_id:
        return task.crontab.human_readable
    if task.clocked_id:
        return _("once at %(time)s") % {"time": f"{task.clocked.clocked_time:%Y-%m-%d %H:%M %Z}"}
    if task.solar_id:
        return _("at %(event)s (%(latitude)s, %(longitude)s)") % {
            "event": task.solar.get_event_display().lower(),
            "latitude": task.solar.latitude,
            "longitude": task.solar.longitude,
        }
    return _("no schedule")


def schedule_recent_runs(*, task: PeriodicTask, limit: int = 20) -> list[dict[str, Any]]:
    """Return the schedule's newest results with queue wait and duration in seconds."""
    rows = (
        TaskResult.objects.filter(periodic_task_name=task.name)
        .order_by("-date_created", "-id")
        .only(
            "id",
            "task_id",
            "status",
            "worker",
            "traceback",
            "date_created",
            "date_started",
            "date_done",
        )[:limit]
    )
    runs = []
    for row in rows:
        started = row.date_started
        runs.append(
            {
                "result": row,
                "queue_wait": queue_wait_seconds(created=row.date_created, started=started),
                "duration": duration_seconds(started=started, done=row.date_done)
                if row.status in states.READY_STATES
                else None,
                "error": (row.traceback or "").strip().splitlines()[-1:] or [""],
            }
        )
    return runs


def schedule_changes(*, task: PeriodicTask) -> list[ScheduleChange]:
    """Return the schedule's audit trail, newest first (by id or, once deleted, by name)."""
    return list(ScheduleChange.objects.filter(periodic_task=task).select_related("user"))
