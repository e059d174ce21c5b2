"""Local jobs for the run_apscheduler process tests, every second (`--include tests.local.jobs`).

Each job appends a line to a file under TC_TEST_LOCAL_DIR when it starts, so a test sees
a run begin before it is recorded.
"""

import os
import time
from pathlib import Path

from taskcenter.catalog import local_job


def _mark(name: str) -> None:
    folder = os.environ.get("TC_TEST_LOCAL_DIR")
    if folder:
        with (Path(folder) / f"{name}.started").open("a") as fh:
            fh.write(f"{time.time()}\n")


@local_job("tests.local.tick", trigger="interval", seconds=1, jitter=0, misfire_grace_time=5)
def tick() -> str:
    """Return at once."""
    _mark("tick")
    return "ok"


@local_job("tests.local.boom", trigger="interval", seconds=1, jitter=0, misfire_grace_time=5)
def boom() -> None:
    """Fail every time, with a secret in the message that must not be stored."""
    _mark("boom")
    raise RuntimeError("cannot reach mysql://admin:hunter2@db:3306/x password=hunter2")


@local_job(
    "tests.local.slow",
    trigger="interval",
    seconds=1,
    jitter=0,
    max_instances=1,
    misfire_grace_time=5,
)
def slow() -> str:
    """Take TC_TEST_SLOW_SECONDS (default 3) to finish."""
    _mark("slow")
    time.sleep(float(os.environ.get("TC_TEST_SLOW_SECONDS", "3")))
    return "slow done"
