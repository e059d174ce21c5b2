"""run_apscheduler test helpers: real processes on a private lease key and short timings."""

from __future__ import annotations

import os
import signal
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Proc, child_env, wait_for

#: Short enough that takeover tests stay quick, long enough for a loaded 2-core machine.
LEASE_TTL = 4


class Schedulers:
    """Start run_apscheduler processes sharing one private lease key; stop them at teardown."""

    def __init__(self, tmp: Path, **env: str) -> None:
        self.tmp = tmp
        self.env = {
            "TASKCENTER_LOCAL_LEASE_KEY": f"test:apscheduler:{uuid.uuid4().hex[:8]}",
            "TASKCENTER_LOCAL_LEASE_TTL": str(LEASE_TTL),
            "TASKCENTER_LOCAL_CONTROL_INTERVAL": "0.25",
            "TASKCENTER_LOCAL_RECORD_INTERVAL": "0.25",
            "TASKCENTER_LOCAL_HEARTBEAT_INTERVAL": "1",
            "TASKCENTER_LOCAL_SHUTDOWN_TIMEOUT": "10",
            "TC_TEST_LOCAL_DIR": str(tmp),
            "LOG_LEVEL": "INFO",
            **env,
        }
        self.procs: list[Proc] = []

    def start(self, *jobs: str, name: str = "aps", **env: str) -> Proc:
        argv = [sys.executable, "manage.py", "run_apscheduler", "--include", "tests.local.jobs"]
        for job in jobs:
            argv += ["--job", job]
        log = self.tmp / f"{name}-{len(self.procs)}.log"
        proc = Proc(argv, log, child_env(**{**self.env, **env}))
        self.procs.append(proc)
        return proc

    def start_leader(self, *jobs: str, **env: str) -> Proc:
        proc = self.start(*jobs, **env)
        wait_for_log(proc, ": leading", timeout=60)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.stop()


def wait_for_log(proc: Proc, text: str, *, timeout: float = 30) -> None:
    def seen() -> bool:
        if text in proc.output():
            return True
        if proc.popen.poll() is not None:
            pytest.fail(f"run_apscheduler exited early:\n{proc.output()[-3000:]}")
        return False

    wait_for(seen, timeout=timeout, interval=0.1, what=f"{text!r} in {proc.log.name}")


def kill_hard(proc: Proc) -> None:
    """SIGKILL the process: no clean shutdown, no lease release."""
    os.killpg(proc.popen.pid, signal.SIGKILL)
    proc.popen.wait()


@pytest.fixture
def schedulers(transactional_db, tmp_path: Path) -> Iterator[Schedulers]:
    group = Schedulers(tmp_path)
    yield group
    group.stop_all()
