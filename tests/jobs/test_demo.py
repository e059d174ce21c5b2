"""The demo jobs on the embedded default (SQLite, filesystem broker, no Redis), with a real
worker: every one runs, and `call_downstream` during an outage retries, then is
dead-lettered."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, Proc, wait_for

pytestmark = [pytest.mark.slow]

TRIGGER = """
import json
from jobs.logic.demo import outage_set
from taskcenter import dispatch
outage_set(name="billing", down=True)
down = dispatch.submit("jobs.demo.call_downstream", kwargs={"name": "billing"})
up = dispatch.submit("jobs.demo.call_downstream", kwargs={"name": "shop"})
add = dispatch.submit("jobs.demo.add", kwargs={"x": 2, "y": 3})
total = dispatch.submit("jobs.demo.total", kwargs={"values": [1, 2, 3]})
slow = dispatch.submit("jobs.demo.slow", kwargs={"seconds": 0.5, "steps": 2})
print(json.dumps({name: r.id for name, r in [
    ("down", down), ("up", up), ("add", add), ("total", total), ("slow", slow)]}))
"""


def _embedded_env(var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(TASKCENTER_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="config.settings")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _manage(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *argv],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=180,
        capture_output=True,
        text=True,
    )
    return done.stdout


def test_call_downstream_works_retries_and_is_dead_lettered_on_the_embedded_default(tmp_path):
    # Given a fresh embedded install and its worker
    var = tmp_path / "var"
    env = _embedded_env(var)
    _manage(env, "migrate", "-v0")
    worker = Proc(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "INFO", "-c", "1"],
        tmp_path / "worker.log",
        env,
    )
    db = sqlite3.connect(var / "taskcenter.sqlite3", timeout=20)
    try:
        # When one downstream is down and another up
        ids = json.loads(_manage(env, "shell", "-c", TRIGGER).strip().splitlines()[-1])

        def status(task_id: str) -> str | None:
            row = db.execute(
                "SELECT status FROM django_celery_results_taskresult WHERE task_id = ?",
                (task_id,),
            ).fetchone()
            return row[0] if row else None

        def result(task_id: str) -> object:
            row = db.execute(
                "SELECT result FROM django_celery_results_taskresult WHERE task_id = ?",
                (task_id,),
            ).fetchone()
            return json.loads(row[0])

        def letter() -> tuple | None:
            return db.execute(
                "SELECT attempts, exception_type FROM taskcenter_deadletter WHERE task_id = ?",
                (ids["down"],),
            ).fetchone()

        # Then the healthy call succeeds, and so does every other demo job
        for name in ("up", "add", "total", "slow"):
            wait_for(lambda n=name: status(ids[n]) == "SUCCESS", timeout=90, what=name)
        assert [result(ids[n]) for n in ("up", "add", "total", "slow")] == ["shop: ok", 5, 6, 2]
        # And the failing one is retried (1 s, then 2 s) before it is dead-lettered
        found = wait_for(letter, timeout=90, what="the dead letter")
        assert found[0] == 3, worker.output()[-3000:]
        assert "DownstreamUnavailableError" in found[1]
        assert status(ids["down"]) == "FAILURE"
        assert "Retry in" in worker.output()
    finally:
        db.close()
        worker.stop()
