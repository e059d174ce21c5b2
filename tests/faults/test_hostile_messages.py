"""Fault 10: hostile messages pushed straight into the broker are refused, recorded, never run.

A pickle payload (which would run a shell command when unpickled), an unknown task name,
a body that is not JSON, an envelope that is not JSON, an envelope without delivery
properties and a body far too large: each becomes an open `RefusedMessage` dead letter,
none runs, and the worker goes on consuming.
"""

import base64
import json
import os
import pickle
import uuid

import pytest

from taskcenter.models import DeadLetter
from tests.conftest import wait_for
from tests.faults.conftest import QUEUE, count, result_row, send, start_fault_worker

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


class _Shell:
    """Unpickling this runs a shell command (what a pickle payload can do)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _headers(task: str) -> dict:
    task_id = str(uuid.uuid4())
    return {"lang": "py", "task": task, "id": task_id, "root_id": task_id, "retries": 0}


def _envelope(body: bytes, content_type: str, headers: dict) -> str:
    return json.dumps(
        {
            "body": base64.b64encode(body).decode(),
            "content-encoding": "utf-8" if content_type == "application/json" else "binary",
            "content-type": content_type,
            "headers": headers,
            "properties": {
                "body_encoding": "base64",
                "delivery_info": {"exchange": QUEUE, "routing_key": QUEUE},
                "delivery_mode": 2,
                "delivery_tag": str(uuid.uuid4()),
                "priority": 0,
            },
        }
    )


def test_hostile_messages_are_refused_recorded_and_never_run(own_redis, tmp_path, settings):
    marker = tmp_path / "pwned"
    job = "tests.faults.work_once"
    args = json.dumps([[], {"seconds": 0}, {}]).encode()
    huge = json.dumps([[], {"seconds": 0}, {}, "x" * (2 * settings.TASKCENTER_MAX_MESSAGE_BYTES)])
    hostile = {
        "pickle": (pickle.dumps(([_Shell(str(marker))], {}, {})), "application/x-python-serialize"),
        "unknown task": (args, "application/json"),
        "malformed JSON body": (b'{"kwargs": {', "application/json"),
        "huge body": (huge.encode(), "application/json"),
    }
    headers = {
        what: _headers("evil.unknown" if what == "unknown task" else job) for what in hostile
    }
    raw = [_envelope(body, ctype, headers[what]) for what, (body, ctype) in hostile.items()]
    raw += ["this is not JSON {", json.dumps({"body": "e30=", "content-type": "application/json"})]

    worker = start_fault_worker(tmp_path, own_redis.url, concurrency=1)
    try:
        # Given hostile messages written straight into the worker's queue, then a real run
        own_redis.client().lpush(QUEUE, *raw)
        after = send(own_redis.url, job)

        # Then the worker keeps consuming: the real run behind them succeeds
        wait_for(lambda: result_row(after, "SUCCESS"), timeout=60, what="the real run")
        assert worker.popen.poll() is None

        # And each hostile message was refused and recorded, and none ran
        letters = wait_for(
            lambda: (
                DeadLetter.objects.filter(exception_type="RefusedMessage")
                if DeadLetter.objects.filter(exception_type="RefusedMessage").count() >= len(raw)
                else None
            ),
            timeout=30,
            what="a dead letter per refused message",
        )
        messages = sorted(letter.message for letter in letters)
        assert len(messages) == len(raw)
        for what, expected in [
            ("pickle", "content type 'application/x-python-serialize'"),
            ("unknown task", "no such task in the catalog"),
            ("malformed JSON body", "could not be decoded"),
            ("huge body", f"more than {settings.TASKCENTER_MAX_MESSAGE_BYTES}"),
        ]:
            assert any(expected in m and headers[what]["id"] in m for m in messages), (
                f"{what}: {messages}"
            )
        assert any("the envelope is not JSON" in m for m in messages)
        assert any("not a task message" in m or "no delivery properties" in m for m in messages)
        assert all(letter.status == DeadLetter.Status.OPEN for letter in letters)
        assert not marker.exists()
        assert all(count(own_redis, "started", h["id"]) == 0 for h in headers.values())
    finally:
        worker.stop()
