"""`celery -A config flower` against the same broker sees a real worker and its task events."""

from __future__ import annotations

import base64
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Proc, child_env, start_worker, wait_for
from tests.servers import free_port

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.timeout(90),
    pytest.mark.django_db(transaction=True),
]

QUEUE = "tc-flower"
AUTH = "ops:flower-test"


class Flower:
    """A flower process on a free port, with basic auth (Flower's API needs some auth)."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        argv = [
            *(sys.executable, "-m", "celery", "-A", "config", "flower"),
            *(f"--port={self.port}", "--address=127.0.0.1", f"--basic_auth={AUTH}"),
        ]
        self.proc = Proc(argv, tmp / "flower.log", child_env())

    def get(self, path: str) -> Any:
        if self.proc.popen.poll() is not None:
            pytest.fail(f"flower exited early:\n{self.proc.output()[-3000:]}")
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            headers={"Authorization": "Basic " + base64.b64encode(AUTH.encode()).decode()},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return json.loads(answer.read())
        except (urllib.error.URLError, ConnectionError):
            return None


@pytest.fixture
def flower_and_worker(tmp_path: Path) -> Iterator[tuple[Flower, str]]:
    from config.celery import app

    app.control.purge()
    worker, node = start_worker(
        tmp_path, queues=QUEUE, concurrency=1, extra=["-I", "tests.monitoring.tasks"]
    )
    flower = Flower(tmp_path)
    try:
        yield flower, node
    finally:
        flower.proc.stop()
        worker.stop()


def test_flower_lists_the_worker_and_sees_its_task_events(flower_and_worker):
    from config.celery import app

    flower, node = flower_and_worker

    # Flower's inspect of the workers finds the running worker and its queue
    workers = wait_for(
        lambda: (found := flower.get("/api/workers?refresh=1")) and node in found and found,
        timeout=45,
        interval=0.5,
        what="the worker in flower's /api/workers",
    )
    assert QUEUE in [q["name"] for q in workers[node]["active_queues"]]

    # ... and the worker's events reach it: alive, and a task followed to its end
    task_id = app.send_task("tests.monitoring.ok", kwargs={"seconds": 0}, queue=QUEUE).id
    wait_for(
        lambda: (flower.get("/api/workers?status=1") or {}).get(node) is True,
        timeout=30,
        interval=0.5,
        what="the worker alive in flower's event state",
    )
    task = wait_for(
        lambda: (
            (tasks := flower.get("/api/tasks"))
            and tasks.get(task_id, {}).get("state") == "SUCCESS"
            and tasks[task_id]
        ),
        timeout=30,
        interval=0.5,
        what="the task's events in flower",
    )
    assert task["name"] == "tests.monitoring.ok"
    assert task["worker"] == node
