"""The Celery client side: the only code that calls Celery's or kombu's client API.

Views, admin, services and commands hand work to Celery through this package, never
through Celery itself:

- `submit`: `submit` and `submit_many` (one job, or a batch in one round trip);
- `workflows`: chain, group and chord of catalog steps;
- `control`: progress from inside a job, state, result and revoke of a sent run;
- `run_sender`: records and publishes concurrent API triggers together (a fast path,
  `TASKCENTER_RUN_BATCHING`);
- `redis_publisher`: writes `apply_async`'s own message to Redis for less CPU (a fast
  path, `TASKCENTER_FAST_PUBLISH`);
- `worker_hooks`: worker-side signal receivers that keep run records and dead letters.

Re-check `redis_publisher` and `run_sender` on every Celery, kombu or redis-py upgrade.
"""

from taskcenter.dispatch.control import report_progress, result, revoke, status
from taskcenter.dispatch.submit import (
    BROKER_ERRORS,
    SUBMIT_OPTIONS,
    Submission,
    submit,
    submit_many,
)
from taskcenter.dispatch.workflows import Step, chain, chord, group, signature

__all__ = [
    "BROKER_ERRORS",
    "SUBMIT_OPTIONS",
    "Step",
    "Submission",
    "chain",
    "chord",
    "group",
    "report_progress",
    "result",
    "revoke",
    "signature",
    "status",
    "submit",
    "submit_many",
]
