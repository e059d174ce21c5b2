"""Shared fixtures: real services, a real Celery worker, real beat, polling helpers.

Tests marked `services` need MySQL and Redis (DATABASE_URL, REDIS_URL). Outside CI a
missing service skips them with the reason; in CI (CI=true) it fails the run, so a
green CI always means they ran.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def wait_for(
    predicate: Callable[[], Any], *, timeout: float = 20.0, interval: float = 0.1, what: str = ""
) -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


def _services_problem() -> str | None:
    if connection.vendor != "mysql":
        return "DATABASE_URL is not a mysql:// URL"
    if not settings.REDIS_URL:
        return "REDIS_URL is not set"
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        return f"Redis at {settings.REDIS_URL} does not answer: {exc}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    needs_services = [i for i in items if i.get_closest_marker("services")]
    if not needs_services:
        return
    problem = _services_problem()
    if problem is None:
        return
    if IN_CI:
        raise pytest.UsageError(f"CI needs MySQL and Redis for the services tests: {problem}")
    skip = pytest.mark.skip(reason=f"needs MySQL and Redis: {problem}")
    for item in needs_services:
        item.add_marker(skip)


def child_env(**overrides: str | None) -> dict[str, str]:
    """Return the environment for a child process that must use the *test* database."""
    env = dict(os.environ)
    db = settings.DATABASES["default"]
    if connection.vendor == "mysql" and env.get("DATABASE_URL"):
        parts = urlsplit(env["DATABASE_URL"])
        env["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + str(db["NAME"])))
    else:
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    env["PYTHONUNBUFFERED"] = "1"
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


class Proc:
    """A child process of the test run, with its log file, stopped on teardown."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str]) -> None:
        self.log = log
        self._fh = log.open("wb")
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> int:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, 9)
                self.popen.wait()
        self._fh.close()
        return self.popen.returncode


def start_worker(
    tmp: Path,
    *,
    queues: str | None = None,
    concurrency: int = 2,
    extra: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> tuple[Proc, str]:
    """Start a real prefork worker on the test database and broker; wait until it answers."""
    from config.celery import app

    hostname = f"test-{uuid.uuid4().hex[:8]}@%h"
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-l",
        "INFO",
        "-P",
        "prefork",
        "-c",
        str(concurrency),
        "-n",
        hostname,
        "-Q",
        queues or ",".join(settings.CELERY_WORKER_QUEUES),
        "--without-mingle",
        "--without-gossip",
        "--statedb",
        str(tmp / f"{hostname.split('@')[0]}.state"),
        *(extra or []),
    ]
    proc = Proc(argv, tmp / f"worker-{hostname.split('@')[0]}.log", env or child_env())
    node = hostname.replace("%h", os.uname().nodename)

    def answers() -> bool:
        if proc.popen.poll() is not None:
            pytest.fail(f"worker exited early:\n{proc.output()[-3000:]}")
        return bool(app.control.ping(destination=[node], timeout=0.5))

    wait_for(answers, timeout=60, what="the Celery worker to answer ping")
    return proc, node


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Celery worker consuming every queue from the real broker, for the session."""
    problem = _services_problem()
    if problem:
        pytest.skip(problem) if not IN_CI else pytest.fail(problem)
    from config.celery import app

    app.control.purge()
    # No heartbeat timer: its rows would make the probe tests' "no fresh worker" case pass
    # or fail by timing. Tests about heartbeats start their own worker with one.
    quiet = child_env(TASKCENTER_HEARTBEAT_INTERVAL="0")
    proc, node = start_worker(tmp_path_factory.mktemp("worker"), env=quiet)
    yield node
    proc.stop()


def start_beat(tmp: Path, *, env: dict[str, str] | None = None, name: str = "beat") -> Proc:
    """Start `celery -A config beat` with the configured scheduler on the test database."""
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "beat",
        "-l",
        "DEBUG",
        "--pidfile",
        str(tmp / f"{name}.pid"),
        "--max-interval",
        "1",
    ]
    return Proc(argv, tmp / f"{name}.log", env or child_env())


@pytest.fixture(autouse=True)
def _pending_rows_written_at_once() -> Iterator[None]:
    """Undo the PENDING-row buffering an in-process beat scheduler turns on for good.

    Beat buffers them and flushes after each dispatch batch; the rest of the suite publishes
    from this process and expects each scheduled run's row written as it is sent.
    """
    from taskcenter.results import pending_rows

    yield
    pending_rows._pending_buffered = False


@pytest.fixture(autouse=True)
def _operations_figures_forgotten() -> Iterator[None]:
    """Forget the finished-hours figures a page render kept: each test empties the rollups."""
    from taskcenter.monitoring.rollups import rollups_cache_clear

    rollups_cache_clear()
    yield
    rollups_cache_clear()
