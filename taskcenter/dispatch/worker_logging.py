"""Worker and beat logs in the task center's format (text or JSON lines, job and run id).

Celery configures its own handlers (keeping `-l` and `--logfile`); these receivers only
swap the formatter of those handlers once Celery has set them up.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import signals
from django.conf import settings

from taskcenter.logs import use_format


@signals.after_setup_logger.connect(weak=False)
def on_setup_logger(logger: logging.Logger | None = None, **kwargs: Any) -> None:
    """Format the root logger's lines (the worker's and beat's own messages)."""
    if logger is not None:
        use_format(logger, settings.LOG_FORMAT)


@signals.after_setup_task_logger.connect(weak=False)
def on_setup_task_logger(logger: logging.Logger | None = None, **kwargs: Any) -> None:
    """Format the task logger's lines (what jobs log through Celery's task logger)."""
    if logger is not None:
        use_format(logger, settings.LOG_FORMAT)
