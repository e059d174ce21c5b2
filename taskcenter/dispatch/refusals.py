"""Broker messages a worker refuses to run: screened, logged and recorded as dead letters.

Why: anything that can write to the broker can push a message no task center process
sent: a pickle payload (code on unpickling), a task name that is not in the catalog,
a body that is not JSON, an envelope kombu can not parse (which stopped the whole Redis
consumer with "Unrecoverable error"), or a body too large to be a real trigger. Each is
dropped before it reaches a task, the worker keeps consuming, and an open dead letter
(exception type `RefusedMessage`) says what arrived and why it was refused.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections

logger = logging.getLogger(__name__)

#: The only content type a task center message has (CELERY_TASK_SERIALIZER).
JSON = "application/json"


def refusal_record(*, reason: str, task_id: Any = None, job: Any = None) -> None:
    """Log the refused message and store its dead letter; a database outage only logs."""
    from taskcenter.services.dead_letters import dead_letter_refused

    logger.error("refused a broker message: %s (task %s, id %s)", reason, job, task_id)
    try:
        dead_letter_refused(
            task_id=str(task_id) if task_id else None,
            job=str(job) if job else None,
            reason=reason,
        )
    except DatabaseError:
        logger.warning("could not record the refused message", exc_info=True)
        close_old_connections()


def envelope_problem(envelope: Any) -> str | None:
    """Why a Redis envelope must not be delivered, or None for one that may be."""
    if not isinstance(envelope, dict):
        return "the envelope is not a JSON object"
    properties = envelope.get("properties")
    if not isinstance(properties, dict) or not isinstance(properties.get("delivery_info"), dict):
        return "the envelope has no delivery properties"
    if not isinstance(envelope.get("headers") or {}, dict):
        return "the envelope's headers are not an object"
    content_type = envelope.get("content-type")
    if content_type != JSON:
        return f"content type {str(content_type)[:100]!r} is not {JSON}"
    body = envelope.get("body")
    if not isinstance(body, str):
        return "the body is not text"
    return oversize_problem(body, settings.TASKCENTER_MAX_MESSAGE_BYTES)


def oversize_problem(body: Any, limit: int) -> str | None:
    """Why a message body of this size is refused, or None when it is within `limit`."""
    size = len(body) if isinstance(body, str | bytes | bytearray | memoryview) else 0
    if size > limit:
        return f"the body is {size} bytes, more than {limit}"
    return None


def envelope_names(envelope: Any) -> tuple[Any, Any]:
    """The task id and name an envelope claims, for the record (either may be None)."""
    headers = envelope.get("headers") if isinstance(envelope, dict) else None
    if not isinstance(headers, dict):
        return None, None
    return headers.get("id"), headers.get("task")
