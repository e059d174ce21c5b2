"""One log format: text by default, JSON lines on request, job and run id on job lines."""

from __future__ import annotations

import json
import logging

import pytest

from taskcenter.logs import JsonFormatter, TextFormatter, job_context
from tests.conftest import child_env, start_worker, wait_for
from tests.monitoring.conftest import TEST_QUEUE


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("jobs.x", logging.INFO, __file__, 1, message, args, None)


def test_text_lines_name_the_job_and_run_and_hide_credentials():
    with job_context(job="jobs.demo.add", run_id="run-1"):
        line = TextFormatter().format(_record("calling %s", "redis://u:pw@host/0"))

    assert "[jobs.demo.add run-1]" in line
    assert "pw@" not in line
    assert "INFO jobs.x" in line


def test_json_lines_carry_job_run_level_and_message():
    with job_context(job="jobs.maintenance.clear_sessions", run_id="local-7"):
        line = json.loads(JsonFormatter().format(_record("token=abc123 done")))

    assert line["job"] == "jobs.maintenance.clear_sessions"
    assert line["run_id"] == "local-7"
    assert line["level"] == "INFO"
    assert line["message"] == "token=*** done"


def test_lines_outside_a_job_have_no_job():
    line = json.loads(JsonFormatter().format(_record("web request")))

    assert line["job"] is None
    assert line["run_id"] is None


@pytest.mark.services
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_workers_json_lines_name_the_job_and_run_of_each_job_line(tmp_path):
    from config.celery import app

    proc, _node = start_worker(
        tmp_path,
        queues=TEST_QUEUE,
        extra=["-I", "tests.monitoring.tasks"],
        env=child_env(LOG_FORMAT="json"),
    )
    try:
        run_id = app.send_task(
            "tests.monitoring.chatty", kwargs={"word": "zebra"}, queue=TEST_QUEUE
        ).id
        line = wait_for(
            lambda: next(
                (ln for ln in proc.output().splitlines() if "zebra" in ln and "working" in ln), None
            ),
            timeout=30,
            what="the job's log line",
        )
    finally:
        proc.stop()

    record = json.loads(line)
    assert record["job"] == "tests.monitoring.chatty"
    assert record["run_id"] == run_id
    assert "hunter2" not in line
    for other in proc.output().splitlines():
        if other.startswith("{"):
            json.loads(other)
