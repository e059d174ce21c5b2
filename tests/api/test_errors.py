"""Error answers: 400, 404, 411, 413, 422, 429, 503, each with a safe message and never a 500."""

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings

from taskcenter.models import Run, Workflow
from tests.conftest import Proc, child_env, wait_for
from tests.servers import free_port

pytestmark = [pytest.mark.django_db(transaction=True)]

TRIGGER = "/api/jobs/jobs.demo.add/runs"


def test_malformed_json_is_400(http, trigger_token):
    for raw in (b'{"kwargs": ', b"\xff\xfe", b'{"kwargs": {"x": NaN}}', b"[" * 50 + b"]" * 50):
        answer = http.post(TRIGGER, raw=raw, token=trigger_token)
        assert answer.status == 400, raw
        assert answer.body["detail"] == "Cannot parse request body"


def test_arguments_that_do_not_fit_the_job_are_422_with_field_errors(http, trigger_token):
    answer = http.post(TRIGGER, {"kwargs": {"x": "one", "z": 3}}, token=trigger_token)

    assert answer.status == 422
    assert answer.body["errors"] == {
        "x": "Input should be a valid integer",
        "y": "Field required",
        "z": "unexpected argument",
    }
    assert not Run.objects.exists()


def test_bad_options_are_422(http, trigger_token):
    cases = [
        {"queue": "nope"},
        {"priority": 99},
        {"countdown": -1},
        {"eta": "2020-01-01T00:00:00Z"},
        {"eta": "2030-01-01T00:00:00"},
        {"surprise": 1},
    ]
    for options in cases:
        answer = http.post(TRIGGER, {"kwargs": {"x": 1, "y": 2}, **options}, token=trigger_token)
        assert answer.status == 422, (options, answer.body)
        assert answer.body["errors"], options


def test_body_over_one_mebibyte_is_413(http, trigger_token):
    big = {"kwargs": {"x": 1, "y": 2}, "args": ["a" * (1024 * 1024)]}

    answer = http.post(TRIGGER, big, token=trigger_token)

    assert answer.status == 413


@pytest.mark.services
def test_a_chunked_body_is_411_and_starts_nothing(gunicorn_url, trigger_token):
    # Django reads a body by its Content-Length: a chunked one would arrive as no body.
    # Against the server as deployed, which reads the refused body before closing, so the
    # client is never cut off mid-send (BrokenPipeError).
    server = urlsplit(gunicorn_url)
    conn = HTTPConnection(server.hostname, server.port, timeout=30)
    body = iter([b'{"kwargs": {"x": 1, "y": 2}}'])  # an iterable: http.client sends it chunked
    headers = {"Authorization": f"Bearer {trigger_token}", "Content-Type": "application/json"}
    try:
        conn.request("POST", TRIGGER, body=body, headers=headers)
        response = conn.getresponse()
        answer = json.loads(response.read())
    finally:
        conn.close()

    assert response.status == 411
    assert "Content-Length" in answer["detail"]
    assert response.getheader("Connection") == "close"
    assert not Run.objects.exists()


def test_unknown_run_is_404_not_pending(http, trigger_token):
    for run_id in ("3f0c6d3e-0000-4000-8000-000000000000", "x" * 300):
        answer = http.get(f"/api/runs/{run_id}", token=trigger_token)
        assert answer.status == 404
        assert http.post(f"/api/runs/{run_id}/revoke", token=trigger_token).status == 404


def test_trigger_rate_limit_answers_429_with_retry_after(http, make_user, token_for, settings):
    settings.API_TRIGGER_RATE_LIMIT = 3
    # A long window, so the five requests can not straddle two windows.
    settings.API_TRIGGER_RATE_WINDOW = 3600
    user = make_user(jobs=("jobs.demo.add",))
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(f"taskcenter:ratelimit:trigger:{user.pk}:*"):
        client.delete(key)
    token = token_for(user)

    statuses = [http.post(TRIGGER, {"kwargs": {"x": 1, "y": 2}}, token=token) for _ in range(5)]

    assert [a.status for a in statuses] == [202, 202, 202, 429, 429]
    assert 1 <= int(statuses[-1].headers["retry-after"]) <= 3600
    assert Run.objects.filter(user=user).count() == 3


@pytest.mark.services
def test_unreachable_broker_is_503_within_5_seconds_and_records_nothing(
    make_user, token_for, tmp_path
):
    # Given the web server as deployed (gunicorn, threads) whose broker URL points at a
    # port nothing listens on
    token = token_for(make_user(jobs=("jobs.demo.add",)))
    port = free_port()
    dead_broker = f"redis://127.0.0.1:{free_port()}/0"
    server = Proc(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "config/gunicorn.py",
            "-b",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        tmp_path / "gunicorn.log",
        child_env(REDIS_URL=dead_broker),
    )
    try:
        from tests.api.conftest import HttpClient

        http = HttpClient(f"http://127.0.0.1:{port}")

        def up():
            try:
                return http.get("/health").status == 200
            except OSError:
                return False

        wait_for(up, timeout=30, what="gunicorn to answer")

        # When a run is triggered
        started = time.monotonic()
        answer = http.post(TRIGGER, {"kwargs": {"x": 1, "y": 2}}, token=token)
        elapsed = time.monotonic() - started

        # Then the answer is a clear 503, fast, and no run was recorded
        assert answer.status == 503, answer.raw[:300]
        assert "broker is unreachable" in answer.body["detail"]
        assert elapsed < 5
        assert not Run.objects.exists()
        assert "Traceback" not in answer.raw.decode()

        # And so are triggers arriving together (recorded and published as one batch)
        with ThreadPoolExecutor(6) as pool:
            answers = list(
                pool.map(
                    lambda _: http.post(TRIGGER, {"kwargs": {"x": 1, "y": 2}}, token=token),
                    range(6),
                )
            )
        assert [a.status for a in answers] == [503] * 6
        assert not Run.objects.exists()

        # And a workflow is refused the same way, leaving neither workflow nor steps behind
        chain = {"kind": "chain", "steps": [{"job": "jobs.demo.add", "args": [1, 2]}] * 2}
        started = time.monotonic()
        answer = http.post("/api/workflows", chain, token=token)
        assert answer.status == 503
        assert time.monotonic() - started < 5
        assert not Workflow.objects.exists()
        assert not Run.objects.exists()
    finally:
        server.stop()
    assert settings.REDIS_URL != dead_broker
