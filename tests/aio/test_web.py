"""AnyIO jobs through real HTTP, under uvicorn (ASGI lifespan) and gunicorn (WSGI threads).

Each server runs on the test database as a child process; a second server stands for
"another web process", so a status read there can only come from the database.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission

from taskcenter.catalog import get_job
from taskcenter.models import Run
from taskcenter.services.tokens import token_create
from tests.api.conftest import HttpClient
from tests.conftest import Proc, child_env, wait_for
from tests.servers import free_port

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TRIGGER = "/api/jobs/jobs.demo.pause/runs"


class Server:
    """One web server child process on a port of its own."""

    def __init__(self, kind: str, tmp: Path, label: str, workers: int, **env: str) -> None:
        self.port = free_port()
        bind = ("--host", "127.0.0.1", "--port", str(self.port))
        argv = {
            "uvicorn": [sys.executable, "-m", "uvicorn", "config.asgi:application", *bind],
            "gunicorn": [
                *(sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py"),
                *("-b", f"127.0.0.1:{self.port}", "--workers", str(workers)),
            ],
        }[kind]
        self.proc = Proc(argv, tmp / f"{kind}-{label}.log", child_env(**env))
        self.http = HttpClient(f"http://127.0.0.1:{self.port}")

        def up() -> bool:
            if self.proc.popen.poll() is not None:
                pytest.fail(f"{kind} exited early:\n{self.proc.output()[-3000:]}")
            try:
                return self.http.get("/health").status == 200
            except OSError:
                return False

        wait_for(up, timeout=60, what=f"{kind} to answer")

    def pids(self) -> set[int]:
        """The server's own pid and its children's (gunicorn's workers)."""
        master = self.proc.popen.pid
        found = {master}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                found.add(int(stat.parent.name))
        return found


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(kind: str, label: str, *, workers: int = 2, **env: str) -> Server:
        server = Server(kind, tmp_path, label, workers, **env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.proc.stop()


@pytest.fixture
def token(django_user_model) -> str:
    user = django_user_model.objects.create_user(username="aio", password="pw-for-tests")
    codename = get_job("jobs.demo.pause").permission_codename
    user.user_permissions.add(Permission.objects.get(codename=codename))
    return token_create(user=user, name="test").secret


def _state(server: Server, run_id: str, token: str) -> dict:
    answer = server.http.get(f"/api/runs/{run_id}", token=token)
    assert answer.status == 200, answer.raw[:300]
    return answer.body


def _ends(server: Server, run_id: str, token: str, *states: str, timeout: float = 30) -> dict:
    def reached() -> dict | None:
        body = _state(server, run_id, token)
        return body if body["state"] in states else None

    return wait_for(reached, timeout=timeout, what=f"run {run_id} to reach {states}")


@pytest.mark.parametrize("kind", ["uvicorn", "gunicorn"])
def test_triggered_aio_job_runs_in_the_web_process_and_any_process_reads_it(kind, servers, token):
    # Given two web servers on the same database
    serving, other = servers(kind, "serving"), servers(kind, "other", workers=1)

    # When an AnyIO job is triggered on one
    started = time.monotonic()
    answer = serving.http.post(TRIGGER, {"kwargs": {"seconds": 1.5}}, token=token)
    answered_in = time.monotonic() - started

    # Then it is accepted at once, recorded as an AnyIO run, and still going when read
    # from the other server
    assert answer.status == 202, answer.raw[:300]
    run_id = answer.body["id"]
    assert answered_in < 1.5
    assert Run.objects.get(id=run_id).runtime == Run.Runtime.AIO
    assert _state(other, run_id, token)["state"] in ("PENDING", "STARTED")

    # And it ends SUCCESS with its result, run by a process of the serving server
    done = _ends(other, run_id, token, "SUCCESS")
    assert done["result"] == 1.5
    assert done["started_at"] is not None
    assert done["finished_at"] is not None
    worker_pid = int(done["worker"].rsplit(":", 1)[1])
    assert worker_pid in serving.pids()
    assert worker_pid not in other.pids()

    # And a failing run ends FAILURE with its error, read from the other server too
    failing = serving.http.post(TRIGGER, {"kwargs": {"seconds": 0, "fail": True}}, token=token)
    failed = _ends(other, failing.body["id"], token, "FAILURE")
    assert failed["error"]["type"] == "RuntimeError"
    assert "on purpose" in failed["error"]["message"]

    # And a revoke asked through the other server cancels a long run where it runs
    long = serving.http.post(TRIGGER, {"kwargs": {"seconds": 60}}, token=token).body["id"]
    _ends(other, long, token, "STARTED")
    revoke = other.http.post(f"/api/runs/{long}/revoke", token=token)
    assert revoke.status == 200
    assert revoke.body["outcome"] == "revoke requested"
    revoked = _ends(other, long, token, "REVOKED", timeout=20)
    assert revoked["error"]["message"] == "revoked"


@pytest.mark.parametrize("kind", ["uvicorn", "gunicorn"])
def test_sigterm_drains_running_aio_jobs_and_records_what_it_cancels(kind, servers, token):
    # Given a server with a 4 s drain, running a short and a too long AnyIO job
    server = servers(kind, "draining", AIO_DRAIN_TIMEOUT="4", AIO_MAX_QUEUE="2")
    short = server.http.post(TRIGGER, {"kwargs": {"seconds": 2.5}}, token=token).body["id"]
    long = server.http.post(TRIGGER, {"kwargs": {"seconds": 60}}, token=token).body["id"]
    _ends(server, long, token, "STARTED")
    assert _state(server, short, token)["state"] == "STARTED"
    if kind == "uvicorn":
        # (one process, so its manager is full now: refused at once, nothing recorded)
        full = server.http.post(TRIGGER, {"kwargs": {"seconds": 1}}, token=token)
        assert full.status == 503
        assert full.headers["retry-after"] == "1"
        assert Run.objects.count() == 2

    # When the server is told to stop
    stopping = time.monotonic()
    server.proc.popen.send_signal(signal.SIGTERM)
    server.proc.popen.wait(timeout=30)

    # Then it stops within the drain (plus slack), the short run finished, and
    # the long one is recorded as cancelled by the stop
    assert time.monotonic() - stopping < 10
    # (uvicorn re-raises the signal once shut down cleanly; gunicorn exits 0)
    assert server.proc.popen.returncode in (0, -signal.SIGTERM), server.proc.output()[-2000:]
    assert "Traceback" not in server.proc.output()
    other = servers(kind, "reader", workers=1)
    assert _state(other, short, token)["state"] == "SUCCESS"
    cancelled = _state(other, long, token)
    assert cancelled["state"] == "REVOKED"
    assert cancelled["error"]["message"] == "cancelled when its web process stopped"
