"""Monitoring test helpers: a test-owned redis-server, heartbeat rows, an HTTP client."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from taskcenter.models import ProcessHeartbeat
from tests.api.conftest import HttpClient
from tests.servers import RedisServer

# Only the workers these tests start consume it: a session-wide worker of another test
# module, which does not know the tests' own tasks, never takes their messages.
TEST_QUEUE = "tc-monitoring"


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    """Render admin pages without `collectstatic`: the manifest storage needs its manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop(signal.SIGKILL)


@pytest.fixture
def http(live_server) -> HttpClient:
    return HttpClient(live_server.url)


def heartbeat(role: str, ident: str, *, age: float = 0.0, **details) -> ProcessHeartbeat:
    """Create the heartbeat row of a process last seen `age` seconds ago."""
    now = timezone.now()
    return ProcessHeartbeat.objects.update_or_create(
        ident=ident,
        defaults={
            "role": role,
            "hostname": "host",
            "pid": 1,
            "details": details,
            "started_at": now - timedelta(seconds=age + 60),
            "seen_at": now - timedelta(seconds=age),
        },
    )[0]


@pytest.fixture(scope="module")
def monitoring_worker(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[str]:
    """A real worker that also imports the monitoring tests' own tasks, for one module."""
    from config.celery import app
    from tests.conftest import child_env, start_worker

    with django_db_blocker.unblock():
        app.control.purge()
        proc, node = start_worker(
            tmp_path_factory.mktemp("monitoring-worker"),
            queues=f"default,{TEST_QUEUE}",
            extra=["-I", "tests.monitoring.tasks"],
            env=child_env(TASKCENTER_HEARTBEAT_INTERVAL="0.5"),
        )
    yield node
    proc.stop()


def send(name: str, *, options: dict | None = None, **kwargs) -> str:
    """Send test task `name` to the tests' own queue; return its id."""
    from config.celery import app

    return app.send_task(name, kwargs=kwargs, queue=TEST_QUEUE, **(options or {})).id


class Webhook:
    """A local HTTP endpoint recording each POST and whether its signature was right."""

    def __init__(self, secret: str, fail_first: int = 0) -> None:
        import hashlib
        import hmac
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.calls: list[dict] = []
        self.fail_first = fail_first
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
                signed = hmac.compare_digest(
                    expected, self.headers.get("X-Taskcenter-Signature", "")
                )
                hook.calls.append({"body": json.loads(body), "signed": signed})
                failing = len(hook.calls) <= hook.fail_first
                self.send_response(500 if failing else (200 if signed else 401))
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook("hook-secret")
    yield hook
    hook.close()
