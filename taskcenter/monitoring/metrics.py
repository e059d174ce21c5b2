"""`/metrics`: a prometheus_client collector reading the database and the broker per scrape.

No counter lives in a process's memory: every scrape asks the durable records, so each
gunicorn worker answers with the same numbers. Run figures cover a trailing window
(`TASKCENTER_METRICS_WINDOW`), which keeps each scrape a bounded, indexed read.
"""

from __future__ import annotations

import hmac
import logging
import math
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from taskcenter.models import Cause
from taskcenter.monitoring import figures
from taskcenter.monitoring.processes import beat_leader_last_tick, processes_online_count

logger = logging.getLogger(__name__)

# Every metric this module exports, for the rules test and the README.
METRIC_NAMES = (
    "taskcenter_runs",
    "taskcenter_run_duration_seconds",
    "taskcenter_local_job_runs",
    "taskcenter_queue_messages",
    "taskcenter_queue_oldest_age_seconds",
    "taskcenter_broker_up",
    "taskcenter_processes_online",
    "taskcenter_workers_online",
    "taskcenter_beat_seconds_since_tick",
    "taskcenter_schedule_missed_runs",
    "taskcenter_dead_letters",
    "taskcenter_metrics_window_seconds",
    "taskcenter_alerts_open",
)


class TaskcenterCollector(Collector):
    """Collect the task center's figures from MySQL and the broker at scrape time."""

    def collect(self) -> Iterator[Metric]:
        window = int(settings.TASKCENTER_METRICS_WINDOW)
        now = timezone.now()
        since = now - timedelta(seconds=window)
        yield GaugeMetricFamily(
            "taskcenter_metrics_window_seconds",
            "Trailing window the run figures cover.",
            value=window,
        )
        yield from self._runs(since)
        yield from self._queues()
        yield from self._processes(now)
        missed = GaugeMetricFamily(
            "taskcenter_schedule_missed_runs",
            "Slots beat missed in the window, per schedule.",
            labels=["schedule"],
        )
        for name, n in sorted(figures.missed_runs_by_schedule(since=since).items()):
            missed.add_metric([name], n)
        yield missed
        yield GaugeMetricFamily(
            "taskcenter_dead_letters",
            "Runs that failed for the last time and wait for an operator.",
            value=figures.dead_letters_open(),
        )
        alerts = GaugeMetricFamily(
            "taskcenter_alerts_open",
            "Open alert incidents (not recovered yet), by cause.",
            labels=["cause"],
        )
        open_by_cause = figures.alerts_open_by_cause()
        for cause in Cause.values:
            alerts.add_metric([cause], open_by_cause.get(cause, 0))
        yield alerts

    def _runs(self, since) -> Iterator[Metric]:
        runs = GaugeMetricFamily(
            "taskcenter_runs",
            "Runs stored in the window, by job, runtime and state.",
            labels=["job", "runtime", "state"],
        )
        for (job, state), n in sorted(figures.runs_by_job_state(since=since).items()):
            runs.add_metric([job, figures.job_runtime(job), state], n)
        yield runs
        durations = HistogramMetricFamily(
            "taskcenter_run_duration_seconds",
            "Durations of runs finished in the window, by job.",
            labels=["job"],
        )
        for hist in figures.durations_by_job(since=since):
            buckets = [
                (_bound(b), n) for b, n in zip(figures.DURATION_BUCKETS, hist.buckets, strict=True)
            ]
            buckets.append(("+Inf", hist.count))
            durations.add_metric([hist.job], buckets, hist.total)
        yield durations
        local = GaugeMetricFamily(
            "taskcenter_local_job_runs",
            "Local (APScheduler) job runs in the window, by job and outcome.",
            labels=["job", "outcome"],
        )
        for (job, outcome), n in sorted(figures.local_runs_by_job_outcome(since=since).items()):
            local.add_metric([job, outcome], n)
        yield local

    def _queues(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("taskcenter_broker_up", "1 when the broker answered the scrape.")
        depth = GaugeMetricFamily(
            "taskcenter_queue_messages", "Messages waiting in each queue.", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "taskcenter_queue_oldest_age_seconds",
            "Age of the oldest waiting message of each queue (0 when empty).",
            labels=["queue"],
        )
        try:
            queues = figures.queues_with_age(timeout=float(settings.TASKCENTER_PROBE_TIMEOUT))
        except Exception:
            logger.warning("metrics: the broker did not answer", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for q in queues:
            depth.add_metric([q.queue], q.waiting)
            age.add_metric([q.queue], q.oldest_age or 0.0)
        yield from (up, depth, age)

    def _processes(self, now) -> Iterator[Metric]:
        online = GaugeMetricFamily(
            "taskcenter_processes_online",
            "Processes with a fresh heartbeat, by role.",
            labels=["role"],
        )
        workers = processes_online_count(role="worker")
        online.add_metric(["worker"], workers)
        online.add_metric(["apscheduler"], processes_online_count(role="apscheduler"))
        tick = beat_leader_last_tick()
        lag = (now - tick).total_seconds() if tick else math.inf
        stale = float(settings.TASKCENTER_HEARTBEAT_STALE_AFTER)
        online.add_metric(["beat"], 1 if lag <= stale else 0)
        yield online
        yield GaugeMetricFamily(
            "taskcenter_workers_online", "Celery workers with a fresh heartbeat.", value=workers
        )
        yield GaugeMetricFamily(
            "taskcenter_beat_seconds_since_tick",
            "Seconds since beat's leader last ticked (+Inf with no leader).",
            value=lag,
        )


def _bound(value: float) -> str:
    return repr(float(value))


_REGISTRY = CollectorRegistry(auto_describe=False)
_REGISTRY.register(TaskcenterCollector())


def metrics_access(request: HttpRequest) -> int:
    """Return 200 when `request` may read the metrics, else 401 (who are you) or 403."""
    if settings.TASKCENTER_METRICS_PUBLIC:
        return 200
    token = str(settings.TASKCENTER_METRICS_TOKEN)
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        given = header.removeprefix("Bearer ").strip()
        if hmac.compare_digest(given.encode(), token.encode()):
            return 200
        return 401
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return 200 if user.is_active and user.is_staff else 403
    return 401


def metrics_render() -> tuple[bytes, str]:
    """Return the exposition text of every metric, read now, and its content type."""
    return generate_latest(_REGISTRY), CONTENT_TYPE_LATEST
