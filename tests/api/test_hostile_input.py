"""Hostile input over real HTTP to gunicorn as deployed: never a 500, always JSON, and a
kept-alive connection that still works after a refused body; with token and session auth."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from http.client import HTTPConnection
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from taskcenter.api import api
from taskcenter.models import Run
from taskcenter.services.tokens import token_create

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

TRIGGER = "/api/jobs/jobs.demo.add/runs"
#: Values for the path parameters of the schema's operations (any well-formed value will do).
PATH_VALUES = {
    "{name}": "jobs.demo.add",
    "{run_id}": "3f0c6d3e-0000-4000-8000-000000000000",
    "{schedule_id}": "1",
    "{letter_id}": "1",
}


def _operations(*methods: str) -> list[tuple[str, str]]:
    found = []
    for path, item in api.get_openapi_schema()["paths"].items():
        for method in item:
            if method.upper() in methods:
                for name, value in PATH_VALUES.items():
                    path = path.replace(name, value)
                found.append((method.upper(), path))
    return found


MUTATING = _operations("POST", "PATCH", "DELETE")


class Caller:
    """One kept-alive HTTP connection, authenticated by a token or by a staff session."""

    def __init__(self, url: str, auth: dict[str, str]) -> None:
        parts = urlsplit(url)
        self.conn = HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.auth = auth

    def send(
        self, method: str, path: str, body: bytes | None = None, **headers: str
    ) -> tuple[int, dict[str, str], Any]:
        sent = {**self.auth, **{k.replace("_", "-"): v for k, v in headers.items()}}
        self.conn.request(method, path, body=body, headers=sent)
        response = self.conn.getresponse()
        raw = response.read()
        found = {k.lower(): v for k, v in response.getheaders()}
        assert found.get("content-type", "").startswith("application/json"), (
            response.status,
            raw[:300],
        )
        return response.status, found, json.loads(raw)

    def close(self) -> None:
        self.conn.close()


@pytest.fixture(params=["token", "session"])
def caller(request, gunicorn_url) -> Iterator[Caller]:
    user = get_user_model().objects.create_superuser(username="hostile", password="pw")
    if request.param == "token":
        auth = {"Authorization": f"Bearer {token_create(user=user, name='fuzz').secret}"}
    else:
        client = Client()
        client.force_login(user)
        session = client.cookies["sessionid"].value
        csrf = "a" * 32
        auth = {"Cookie": f"sessionid={session}; csrftoken={csrf}", "X-CSRFToken": csrf}
    calling = Caller(gunicorn_url, auth)
    yield calling
    calling.close()


def test_multipart_without_a_boundary_is_a_json_4xx_on_every_operation(caller):
    for method, path in MUTATING:
        status, _, body = caller.send(
            method, path, b"x=1", Content_Type="multipart/form-data", Content_Length="3"
        )

        assert status in (400, 415), (method, path, status, body)
        assert body["detail"]
    assert not Run.objects.exists()


def test_a_body_over_the_limit_is_413_and_the_next_request_on_the_connection_works(caller):
    big = json.dumps({"kwargs": {"x": 1, "y": 2}, "args": ["a" * (2 * 1024 * 1024)]}).encode()

    status, headers, body = caller.send("POST", TRIGGER, big, Content_Type="application/json")
    assert status == 413
    assert "too large" in body["detail"]
    assert headers.get("connection", "").lower() == "close"

    status, _, body = caller.send("GET", "/api/jobs")
    assert status == 200
    assert any(job["name"] == "jobs.demo.add" for job in body)


def test_a_chunked_body_is_411_and_the_next_request_on_the_connection_works(caller):
    body = iter([b'{"kwargs": {"x": 1, "y": 2}}'])  # an iterable: http.client sends it chunked

    status, headers, answer = caller.send("POST", TRIGGER, body, Content_Type="application/json")
    assert status == 411
    assert "Content-Length" in answer["detail"]
    assert headers.get("connection", "").lower() == "close"

    status, _, _ = caller.send("GET", "/api/jobs")
    assert status == 200
    assert not Run.objects.exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/runs/a%2Fb"),
        ("POST", "/api/runs/a%2Fb/revoke"),
        ("POST", "/api/jobs/%3Cscript%3Ealert(1)%3C%2Fscript%3E/runs"),
        ("POST", "/api/jobs/jobs.demo.add%2F..%2Fx/runs"),
        ("GET", "/api/schedules/1%2F2"),
        ("GET", "/api/no-such-thing"),
        ("PUT", "/api/jobs"),
    ],
)
def test_paths_the_router_never_sees_answer_json(caller, method, path):
    status, _, body = caller.send(method, path, b"{}", Content_Type="application/json")

    assert status in (404, 405)
    assert body["detail"]


def test_integers_past_64_bits_are_422_with_field_errors_and_start_nothing(caller):
    for payload in ({"args": [10**400, 1]}, {"kwargs": {"x": 2**63, "y": 1}}):
        status, _, body = caller.send(
            "POST", TRIGGER, json.dumps(payload).encode(), Content_Type="application/json"
        )

        assert status == 422, body
        assert "out of range" in body["errors"]["x"]
    status, _, body = caller.send(
        "POST",
        "/api/jobs/jobs.demo.total/runs",
        json.dumps({"kwargs": {"values": [1, -(2**64)]}}).encode(),
        Content_Type="application/json",
    )
    assert status == 422
    assert "values.1" in body["errors"]
    assert not Run.objects.exists()


def test_an_idempotency_key_reused_with_another_body_is_422_with_field_errors(caller):
    first = json.dumps({"kwargs": {"x": 1, "y": 2}}).encode()
    other = json.dumps({"kwargs": {"x": 5, "y": 2}}).encode()
    json_key = {"Content_Type": "application/json", "Idempotency_Key": "hostile-1"}

    assert caller.send("POST", TRIGGER, first, **json_key)[0] == 202
    status, _, body = caller.send("POST", TRIGGER, other, **json_key)

    assert status == 422
    assert "Idempotency-Key" in body["errors"]


def _raw(url: str, request: bytes) -> tuple[int, dict[str, str], Any]:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(body)


def test_the_servers_own_414_and_431_answer_json(gunicorn_url):
    long_line = b"GET /api/jobs?" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    status, headers, body = _raw(gunicorn_url, long_line)
    assert status == 414
    assert headers["content-type"] == "application/json"
    assert body["detail"]

    big_header = b"GET /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"b" * 10_000
    status, headers, body = _raw(gunicorn_url, big_header + b"\r\n\r\n")
    assert status in (400, 431)
    assert headers["content-type"] == "application/json"

    many = b"".join(b"X-H%d: 1\r\n" % i for i in range(200))
    status, headers, body = _raw(
        gunicorn_url, b"GET /api/jobs HTTP/1.1\r\nHost: a\r\n" + many + b"\r\n"
    )
    assert status == 431
    assert headers["content-type"] == "application/json"
