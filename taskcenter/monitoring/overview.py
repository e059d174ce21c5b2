"""Everything the operations page shows, read in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from taskcenter.models import BeatInstance
from taskcenter.monitoring import charts, figures, rollups, series
from taskcenter.monitoring.jobs import job_rows
from taskcenter.monitoring.processes import processes_list
from taskcenter.monitoring.rollups import rollups_catch_up

WINDOWS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400}
DEFAULT_WINDOW = "24h"


@dataclass(frozen=True)
class Choice:
    key: str
    label: Any


WINDOW_CHOICES = (
    Choice("1h", _("1 hour")),
    Choice("24h", _("24 hours")),
    Choice("7d", _("7 days")),
)


def operations_overview(*, window: str, sort: str, descending: bool) -> dict[str, Any]:
    """Return the operations page's figures, charts and processes over `window`."""
    key = window if window in WINDOWS else DEFAULT_WINDOW
    seconds = WINDOWS[key]
    now = timezone.now()
    since = now - timedelta(seconds=seconds)
    try:
        queues = figures.queues_with_age(timeout=float(settings.TASKCENTER_PROBE_TIMEOUT))
        broker_error = ""
    except Exception as exc:
        queues, broker_error = [], f"{type(exc).__name__}: {exc}"[:200]
    rollups_catch_up(now=now)
    grouped = rollups.grouped(since=since, now=now, step=series.bucket_step(seconds))
    runs, failures = series.runs_over_time(figures=grouped, since=since, now=now, window=seconds)
    durations = series.durations_over_time(figures=grouped, since=since, now=now, window=seconds)
    depth = series.queue_depth_over_time(since=since, now=now, window=seconds)
    beat = list(BeatInstance.objects.order_by("-is_leader", "-last_tick_at")[:10])
    missed = figures.missed_runs_by_schedule(since=since)
    return {
        "window": key,
        "windows": WINDOW_CHOICES,
        "sort": sort,
        "descending": descending,
        "jobs": job_rows(figures=grouped, sort=sort, descending=descending),
        "queues": queues,
        "broker_error": broker_error,
        "workers": processes_list(role="worker"),
        "apschedulers": processes_list(role="apscheduler"),
        "beats": beat,
        "beat_leader": next((b for b in beat if b.is_leader), None),
        "missed": sorted(missed.items()),
        "missed_total": sum(missed.values()),
        "dead_letters": figures.dead_letters_open(),
        "now": now,
        "chart_runs": charts.stacked_bars(
            runs, overlay=failures, title=str(_("Runs per job, and failures"))
        ),
        "chart_durations": charts.lines(
            durations, title=str(_("Run duration p50 / p95")), unit=" s"
        ),
        "chart_queues": charts.lines(depth, title=str(_("Messages waiting per queue"))),
    }
