"""API test helpers: real HTTP to pytest-django's live server, users with permissions, tokens."""

from __future__ import annotations

import http.client as httpclient
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Permission

from taskcenter.catalog import get_job
from taskcenter.services.tokens import token_create
from tests.conftest import Proc, child_env, wait_for
from tests.servers import free_port


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    raw: bytes


class HttpClient:
    """A tiny HTTP client for the live server, keeping cookies like a browser would."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Answer:
        conn = httpclient.HTTPConnection(self.host, self.port, timeout=30)
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            content = response.read()
        finally:
            conn.close()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        try:
            parsed = json.loads(content) if content else None
        except ValueError:
            parsed = None
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, parsed, content
        )

    def get(self, path: str, **kw: Any) -> Answer:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.request("POST", path, body, **kw)


@pytest.fixture
def http(live_server) -> HttpClient:
    return HttpClient(live_server.url)


@pytest.fixture
def make_user(django_user_model) -> Callable[..., Any]:
    """Create a user holding trigger permissions for `jobs` plus any `perms` (app.codename)."""
    counter = iter(range(10_000))

    def make(*, jobs: tuple[str, ...] = (), perms: tuple[str, ...] = (), **fields: Any):
        user = django_user_model.objects.create_user(
            username=f"user{next(counter)}", password="pw-for-tests", **fields
        )
        codenames = [get_job(j).permission_codename for j in jobs]
        wanted = [("taskcenter", c) for c in codenames] + [tuple(p.split(".")) for p in perms]
        for app_label, codename in wanted:
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        return user

    return make


@pytest.fixture
def token_for() -> Callable[..., str]:
    def issue(user, **kw: Any) -> str:
        return token_create(user=user, name="test", **kw).secret

    return issue


@pytest.fixture
def trigger_token(make_user, token_for) -> str:
    """A token whose user may trigger the demo jobs."""
    user = make_user(
        jobs=("jobs.demo.add", "jobs.demo.total", "jobs.demo.slow", "jobs.demo.call_downstream")
    )
    return token_for(user)


@pytest.fixture
def no_rate_limit(settings) -> None:
    settings.API_TRIGGER_RATE_LIMIT = 0


def start_gunicorn(tmp: Path, **env: str | None) -> tuple[Proc, str]:
    """Start the web server as deployed (gunicorn, config/gunicorn.py) on the test database."""
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py"]
    argv += ["-b", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"]
    server = Proc(argv, tmp / f"gunicorn-{port}.log", child_env(**env))
    url = f"http://127.0.0.1:{port}"
    client = HttpClient(url)

    def up() -> bool:
        if server.popen.poll() is not None:
            pytest.fail(f"gunicorn exited early:\n{server.output()[-3000:]}")
        try:
            return client.get("/health").status == 200
        except OSError:
            return False

    try:
        wait_for(up, timeout=60, what="gunicorn to answer")
    except BaseException:
        server.stop()
        raise
    return server, url


@pytest.fixture(scope="module")
def gunicorn_url(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real gunicorn serving the app on the test database, for a module."""
    server, url = start_gunicorn(tmp_path_factory.mktemp("gunicorn"))
    yield url
    server.stop()
