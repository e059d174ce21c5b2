"""One log format for web, worker, beat and run_apscheduler: text, or JSON lines.

Every line carries the job name and run id of the job that wrote it: inside a Celery task
they come from the task's request, in the local and AnyIO runtimes from `job_context`.
Messages go through the same scrubbing as stored errors (no credentials, at most 500
characters), so a job's arguments or a URL's password do not end up in a log.
`LOG_FORMAT=json` (config/settings/operations.py) switches every process to JSON lines.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_job: contextvars.ContextVar[str] = contextvars.ContextVar("taskcenter_job", default="")
_run: contextvars.ContextVar[str] = contextvars.ContextVar("taskcenter_run", default="")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(job)s %(run_id)s] %(message)s"


@contextmanager
def job_context(*, job: str, run_id: str) -> Iterator[None]:
    """Mark every line logged inside the block with `job` and `run_id`."""
    job_token, run_token = _job.set(job), _run.set(run_id)
    try:
        yield
    finally:
        _job.reset(job_token)
        _run.reset(run_token)


def _current() -> tuple[str, str]:
    if job := _job.get():
        return job, _run.get()
    try:
        from celery._state import get_current_task
    except ImportError:
        return "", ""
    task = get_current_task()
    request = getattr(task, "request", None) if task is not None else None
    if request is not None and getattr(request, "id", None):
        return str(task.name), str(request.id)
    return "", ""


def _prepare(record: logging.LogRecord) -> None:
    from taskcenter.services.scrub import scrub

    if not hasattr(record, "job"):
        job, run_id = _current()
        record.job, record.run_id = job or "-", run_id or "-"
    record.msg, record.args = scrub(record.getMessage()), None


class TextFormatter(logging.Formatter):
    """`time level logger [job run_id] message`, the default."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        _prepare(record)
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, process, job, run_id, message."""

    def format(self, record: logging.LogRecord) -> str:
        _prepare(record)
        line = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName,
            "job": None if record.job == "-" else record.job,
            "run_id": None if record.run_id == "-" else record.run_id,
            "message": record.msg,
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def formatter(kind: str) -> logging.Formatter:
    """Return the formatter of `kind` ("json", else text)."""
    return JsonFormatter() if kind == "json" else TextFormatter()


def use_format(logger: logging.Logger, kind: str) -> None:
    """Give every handler of `logger` the task center's formatter (Celery's set-up hook)."""
    for handler in logger.handlers:
        handler.setFormatter(formatter(kind))
