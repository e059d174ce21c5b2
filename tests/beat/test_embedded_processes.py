"""Embedded default (SQLite, filesystem broker, no Redis): the lease falls back to the DB."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.beat.conftest import kill_hard, wait_for_log
from tests.conftest import ROOT, Proc, start_beat, wait_for

pytestmark = [pytest.mark.slow]

SCHEDULE = """
from django_celery_beat.models import IntervalSchedule, PeriodicTask
i = IntervalSchedule.objects.create(every=1, period="seconds")
PeriodicTask.objects.create(name="tick", task="tests.beat.noop", interval=i, queue="default")
"""


def _embedded_env(var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        TASKCENTER_VAR_DIR=str(var),
        DJANGO_SETTINGS_MODULE="config.settings",
        TASKCENTER_BEAT_LEASE_TTL="4",
        PYTHONUNBUFFERED="1",
    )
    return env


def test_two_embedded_beats_elect_one_leader_through_the_database(tmp_path):
    # given a fresh embedded install with one 1 s schedule
    env = _embedded_env(tmp_path / "var")
    for argv in (["migrate", "-v0"], ["shell", "-c", SCHEDULE]):
        subprocess.run(
            [sys.executable, "manage.py", *argv], cwd=ROOT, env=env, check=True, timeout=120
        )
    queue = tmp_path / "var" / "broker" / "queue"
    beats: list[Proc] = []
    try:
        # when two beats run
        first = start_beat(tmp_path, env=env, name="first")
        beats.append(first)
        wait_for_log(first, ": leading", timeout=40)
        second = start_beat(tmp_path, env=env, name="second")
        beats.append(second)
        wait_for_log(second, "started, standing by", timeout=40)
        wait_for(lambda: len(list(queue.glob("*"))) >= 3, timeout=20, what="three messages")
        assert "beat: sent" not in second.output()

        # and the leader dies
        killed = time.monotonic()
        kill_hard(first)
        wait_for_log(second, ": leading", timeout=10)

        # then the standby leads within the TTL and dispatches
        assert time.monotonic() - killed <= 4 + 1.5
        wait_for(lambda: "beat: sent tick" in second.output(), timeout=10, what="second sends")
    finally:
        for proc in beats:
            proc.stop()
