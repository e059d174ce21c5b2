"""Alerts from real processes: a live beat stopped for a few periods misses runs, a real
worker killed goes silent; each is told by exactly one mail (Django's locmem backend),
repeats are suppressed and a worker back sends one "recovered"."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core import mail
from django_celery_beat.models import PeriodicTask

from taskcenter.alerts.checks import (
    MISSED_MARK,
    alerts_check_missed_runs,
    alerts_check_processes,
)
from taskcenter.models import Alert, AlertState, ProcessHeartbeat, ScheduleEvent
from tests.beat.conftest import Beats, Outbox, every, wait_for_log
from tests.conftest import child_env, start_worker, wait_for

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.timeout(90),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def alert_settings(settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TASKCENTER_ALERT_EMAIL = True
    settings.TASKCENTER_ALERT_WINDOW = 3600
    settings.TASKCENTER_ALERT_WEBHOOK_URL = ""
    mail.outbox = []
    return settings


def delivered(n: int) -> list[Alert]:
    """Wait until `n` alerts are recorded and each has tried its delivery."""

    def ready():
        rows = list(Alert.objects.order_by("id"))
        return rows if len(rows) == n and all(r.attempts for r in rows) else None

    return wait_for(ready, timeout=20, what=f"{n} delivered alerts")


@pytest.fixture
def beat_group(tmp_path: Path, settings) -> Iterator[tuple[Beats, Outbox]]:
    box = Outbox(settings.REDIS_URL)
    group = Beats(tmp_path, TASKCENTER_BEAT_MISSED_GRACE="2")
    try:
        yield group, box
    finally:
        group.stop_all()
        box.close()


def _pause_beat(group: Beats, periods: float) -> None:
    """Stop the leading beat cleanly, let `periods` seconds of a 1 s schedule pass, restart."""
    group.procs[-1].stop()
    stopped_at = time.monotonic()
    wait_for(lambda: time.monotonic() - stopped_at >= periods, timeout=periods + 5, what="a pause")
    leader = group.start("beat")
    wait_for_log(leader, ": leading", timeout=40)


def _missed(task: PeriodicTask) -> list[ScheduleEvent]:
    return list(
        ScheduleEvent.objects.filter(periodic_task=task, kind=ScheduleEvent.Kind.MISSED).exclude(
            outcome=ScheduleEvent.Outcome.PENDING
        )
    )


def test_a_live_beat_stopped_for_a_few_periods_is_told_once_then_repeats_are_suppressed(
    beat_group,
):
    group, box = beat_group
    # Given a 1 s schedule run by a real beat, on a queue nobody consumes
    task = every(1, name="every-second", queue=box.queue)
    alerts_check_missed_runs()  # the first check sets its mark
    group.start_leader()
    wait_for(lambda: len(box.of("every-second")) >= 2, timeout=30, what="two runs sent")

    # When beat is stopped for four periods and started again
    _pause_beat(group, 4)
    first = wait_for(lambda: _missed(task), timeout=30, what="beat's missed-run record")
    alerts_check_missed_runs()

    # Then exactly one mail tells the missed run of that schedule
    (row,) = delivered(1)
    assert (row.cause, row.subject, row.channel) == ("missed_run", "every-second", "email")
    assert first[0].slots >= 2
    assert len(mail.outbox) == 1
    assert "every-second" in mail.outbox[0].subject
    assert mail.outbox[0].to == ["ops@example.com"]

    # When it misses again within the alert window
    _pause_beat(group, 4)
    wait_for(lambda: len(_missed(task)) >= 2, timeout=30, what="the second missed-run record")
    alerts_check_missed_runs()
    alerts_check_missed_runs()

    # Then the repeat is counted, not mailed: every missed-run record looked at after the
    # first (a loaded machine may make beat late past the grace once more) is suppressed
    mark = AlertState.objects.get(key=MISSED_MARK).details["last_id"]
    looked_at = ScheduleEvent.objects.filter(kind=ScheduleEvent.Kind.MISSED, id__lte=mark)
    assert looked_at.count() >= 2
    assert AlertState.objects.get(key="missed_run:every-second").suppressed == (
        looked_at.count() - 1
    )
    assert Alert.objects.count() == 1
    assert len(mail.outbox) == 1


def _check(mine: set[str]) -> None:
    """Run the silent-process check as if the workers of this test were the only ones: a
    session-wide worker of another test module must not hide (or end) the silence."""
    ProcessHeartbeat.objects.filter(role="worker").exclude(ident__in=mine).delete()
    alerts_check_processes()


def _check_until(predicate, mine: set[str], *, timeout: float, what: str) -> None:
    """Run the silent-process check until `predicate` holds (the check runs on a timer)."""

    def checked():
        _check(mine)
        return predicate()

    wait_for(checked, timeout=timeout, interval=0.3, what=what)


@pytest.mark.worker
def test_a_killed_worker_is_told_once_and_a_worker_back_recovers(tmp_path, settings):
    from config.celery import app

    settings.TASKCENTER_ALERT_ROLES = ["worker"]
    settings.TASKCENTER_ALERT_SILENCE_AFTER = 2
    env = child_env(TASKCENTER_HEARTBEAT_INTERVAL="0.3")
    app.control.purge()

    # Given a real worker whose heartbeat is seen
    proc, node = start_worker(tmp_path, queues="tc-silent", concurrency=1, env=env)
    try:
        wait_for(
            lambda: ProcessHeartbeat.objects.filter(ident=f"worker:{node}").exists(),
            timeout=30,
            what="the worker's heartbeat row",
        )
        mine = {f"worker:{node}"}
        _check(mine)
        assert Alert.objects.count() == 0

        # When it is killed (no clean shutdown, no "stopped" row)
        os.killpg(proc.popen.pid, signal.SIGKILL)
        proc.popen.wait(10)
    finally:
        proc.stop()

    # Then, once silent for the configured time, exactly one alert is mailed
    _check_until(lambda: Alert.objects.exists(), mine, timeout=30, what="the no-worker alert")
    for _ in range(3):
        _check(mine)
    (row,) = delivered(1)
    assert (row.cause, row.subject, row.kind) == ("no_worker", "worker", "alert")
    assert len(mail.outbox) == 1
    assert "worker" in mail.outbox[0].subject

    # When a worker is back, one "recovered" follows
    back, back_node = start_worker(tmp_path, queues="tc-silent", concurrency=1, env=env)
    mine.add(f"worker:{back_node}")
    try:
        _check_until(
            lambda: Alert.objects.filter(kind="recovered").exists(),
            mine,
            timeout=30,
            what="the recovered message",
        )
        _check(mine)
    finally:
        back.stop()
    rows = delivered(2)
    assert [r.kind for r in rows] == ["alert", "recovered"]
    assert len(mail.outbox) == 2
    assert "recovered" in mail.outbox[1].subject
