"""The job catalog: every job the task center knows, whatever runtime runs it.

Jobs are declared in `jobs/` with one decorator per runtime (`celery_job`, `local_job`,
`aio_job`). The catalog records each job's name, runtime, queue, description, retry
policy, delivery promise (at-least-once for idempotent Celery jobs, at-most-once for the
others) and parameters (from the function's type hints), so the admin, the API and the
schedulers validate arguments against the same signature before anything is enqueued.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pydantic
from celery import shared_task
from django.utils.translation import gettext as _

from taskcenter.job_params import JobArgumentsError, params_bind, params_model_for


class Runtime(enum.StrEnum):
    CELERY = "celery"
    LOCAL = "local"
    AIO = "aio"


class Delivery(enum.StrEnum):
    """What the task center promises about a Celery job's runs when a worker is lost."""

    #: Acknowledged after the run; a run whose worker is lost is delivered again.
    AT_LEAST_ONCE = "at-least-once"
    #: Acknowledged when the run starts; a run whose worker is lost fails with the reason.
    AT_MOST_ONCE = "at-most-once"


@dataclass(frozen=True)
class RetryPolicy:
    """When and how a Celery job retries: exponential backoff with jitter, then gives up."""

    on: tuple[type[BaseException], ...] = ()
    max_retries: int = 3
    backoff: int = 2
    backoff_max: int = 600
    jitter: bool = True


@dataclass(frozen=True)
class LocalTrigger:
    """An APScheduler trigger (`cron`, `interval` or `date`) and its run policy."""

    kind: str
    args: dict[str, Any]
    jitter: int | None = None
    coalesce: bool | None = None
    misfire_grace_time: int | None = None
    max_instances: int | None = None


class UnknownJobError(LookupError):
    """No job of that name is in the catalog."""


@dataclass(frozen=True)
class Job:
    """One catalog entry."""

    name: str
    runtime: Runtime
    func: Callable[..., Any]
    description: str = ""
    queue: str | None = None
    retry: RetryPolicy | None = None
    trigger: LocalTrigger | None = None
    task: Any = None
    idempotent: bool = False
    params_model: type[pydantic.BaseModel] = field(default=None, repr=False)  # type: ignore[assignment]

    @property
    def param_names(self) -> list[str]:
        return list(self.params_model.model_fields)

    @property
    def delivery(self) -> Delivery | None:
        """At-least-once for an idempotent Celery job, at-most-once for another; None otherwise."""
        if self.runtime != Runtime.CELERY:
            return None
        return Delivery.AT_LEAST_ONCE if self.idempotent else Delivery.AT_MOST_ONCE

    @property
    def permission_codename(self) -> str:
        """Codename of the Django permission needed to trigger this job."""
        return "trigger_" + self.name.replace(".", "_")

    def parameters_schema(self) -> dict[str, Any]:
        """Return the JSON schema of the job's keyword arguments."""
        schema = self.params_model.model_json_schema()
        schema.pop("title", None)
        return schema

    def validate(self, args: Any = (), kwargs: Any = None) -> dict[str, Any]:
        """Check JSON `args`/`kwargs` against the signature; return them as keyword arguments.

        Raises JobArgumentsError with one message per field (see `job_params.params_bind`).
        """
        return params_bind(self.params_model, args, kwargs)

    def validate_after_first(self, args: Any = (), kwargs: Any = None) -> dict[str, Any]:
        """Validate like `validate`, leaving the first parameter to be filled at run time.

        For a workflow step that receives the previous step's result (or a chord callback
        the header's results) as its first positional argument.
        """
        names = self.param_names
        if not names:
            raise JobArgumentsError({"job": _("takes no parameter to receive the previous result")})
        first = names[0]
        if isinstance(kwargs, dict) and first in kwargs:
            raise JobArgumentsError(
                {first: _("is filled with the previous result; do not give it")}
            )
        fields = {
            n: (f.annotation, f) for n, f in self.params_model.model_fields.items() if n != first
        }
        tail = pydantic.create_model(
            f"{self.name}.tail", __config__=pydantic.ConfigDict(extra="forbid"), **fields
        )
        return params_bind(tail, args, kwargs)


_REGISTRY: dict[str, Job] = {}


def register(job: Job) -> Job:
    """Add `job` to the catalog; a second job under the same name is a programming error."""
    existing = _REGISTRY.get(job.name)
    if existing is not None and existing.func.__qualname__ != job.func.__qualname__:
        raise ValueError(f"job {job.name!r} is declared twice")
    _REGISTRY[job.name] = job
    return job


def get_job(name: str, runtime: Runtime | None = None) -> Job:
    """Return the catalog entry for `name` (of `runtime`, when given)."""
    job = _REGISTRY.get(name)
    if job is None or (runtime is not None and job.runtime != runtime):
        raise UnknownJobError(name)
    return job


def all_jobs(runtime: Runtime | None = None) -> list[Job]:
    """Return every job (of `runtime`, when given), sorted by name."""
    return sorted(
        (j for j in _REGISTRY.values() if runtime is None or j.runtime == runtime),
        key=lambda j: j.name,
    )


def _describe(func: Callable[..., Any], description: str | None) -> str:
    return description if description is not None else inspect.getdoc(func) or ""


def celery_job(
    name: str,
    *,
    queue: str | None = None,
    retry: RetryPolicy | None = None,
    idempotent: bool = False,
    description: str | None = None,
    **task_options: Any,
) -> Callable[[Callable[..., Any]], Any]:
    """Declare a Celery job: register a shared task under a stable `name` and catalog it.

    The name is explicit because beat and the results table store it. `retry` becomes
    Celery's own `autoretry_for`/`retry_backoff`/`retry_jitter` options. `idempotent=True`
    (running it twice does no harm) makes it at-least-once: acknowledged after the run and
    delivered again when its worker is lost, up to `TASKCENTER_MAX_DELIVERIES` times. Any
    other job is at-most-once: acknowledged as it starts, failed with the reason when its
    worker is lost.
    """

    def decorate(func: Callable[..., Any]) -> Any:
        # Imported here: the dispatch package imports this module.
        from taskcenter.dispatch.task_base import CatalogTask

        options = {"base": CatalogTask, **task_options}
        options.update(
            acks_late=idempotent, reject_on_worker_lost=idempotent, idempotent=idempotent
        )
        if queue:
            options["queue"] = queue
        if retry is not None:
            options.update(
                autoretry_for=retry.on,
                max_retries=retry.max_retries,
                retry_backoff=retry.backoff,
                retry_backoff_max=retry.backoff_max,
                retry_jitter=retry.jitter,
            )
        task = shared_task(name=name, **options)(func)
        register(
            Job(
                name=name,
                runtime=Runtime.CELERY,
                func=func,
                description=_describe(func, description),
                queue=queue,
                retry=retry,
                task=task,
                idempotent=idempotent,
                params_model=params_model_for(func, name),
            )
        )
        return task

    return decorate


def local_job(
    name: str,
    *,
    trigger: str,
    jitter: int | None = None,
    coalesce: bool | None = None,
    misfire_grace_time: int | None = None,
    max_instances: int | None = None,
    description: str | None = None,
    **trigger_args: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a local job, run by `manage.py run_apscheduler` on an APScheduler trigger.

    `trigger` is `cron`, `interval` or `date`; the remaining keywords are that trigger's
    arguments (`minute="*/5"`, `hours=1`, `run_date=...`). Unset policies fall back to
    the `APSCHEDULER` setting.
    """
    if trigger not in ("cron", "interval", "date"):
        raise ValueError(f"job {name}: trigger must be cron, interval or date")

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        register(
            Job(
                name=name,
                runtime=Runtime.LOCAL,
                func=func,
                description=_describe(func, description),
                trigger=LocalTrigger(
                    kind=trigger,
                    args=trigger_args,
                    jitter=jitter,
                    coalesce=coalesce,
                    misfire_grace_time=misfire_grace_time,
                    max_instances=max_instances,
                ),
                params_model=params_model_for(func, name),
            )
        )
        return func

    return decorate


def aio_job(
    name: str, *, description: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a lightweight AnyIO job: an async function run in-process by `taskcenter.aio`."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        if not inspect.iscoroutinefunction(func):
            raise TypeError(f"job {name}: an aio job must be an async function")
        register(
            Job(
                name=name,
                runtime=Runtime.AIO,
                func=func,
                description=_describe(func, description),
                params_model=params_model_for(func, name),
            )
        )
        return func

    return decorate
