"""Request and answer shapes shared by the routers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination
from pydantic import ConfigDict

#: Bounds that keep a request cheap to validate and store.
MAX_STEPS = 50
MAX_NAME = 200
#: Page bounds: a page is cheap to build, an offset fits MySQL's LIMIT.
MAX_PAGE = 500
MAX_OFFSET = 10**9
#: A primary key that fits a BIGINT column.
Pk = Annotated[int, Field(ge=1, le=2**63 - 1)]


class StrictIn(Schema):
    model_config = ConfigDict(extra="forbid")


class RetryOut(Schema):
    on: list[str]
    max_retries: int
    backoff: int
    backoff_max: int
    jitter: bool


class JobOut(Schema):
    name: str
    runtime: str
    queue: str | None
    description: str
    retry: RetryOut | None
    #: Celery jobs: whether running it twice does no harm, and so what a lost worker does.
    idempotent: bool | None
    delivery: str | None
    parameters: dict[str, Any]
    can_trigger: bool
    trigger_url: str | None


class TriggerIn(StrictIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kwargs": {"x": 1, "y": 2}, "priority": 5}]},
    )

    args: list[Any] = Field(default_factory=list, max_length=100)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    queue: str | None = Field(None, max_length=MAX_NAME)
    countdown: float | None = Field(None, ge=0, allow_inf_nan=False)
    eta: datetime | None = None
    priority: int | None = Field(None, ge=0, le=9)
    expires: float | None = Field(None, gt=0, allow_inf_nan=False)

    def options(self) -> dict[str, Any]:
        return self.model_dump(exclude={"args", "kwargs"}, exclude_none=True)


class RunAccepted(Schema):
    id: str
    job: str
    status_url: str
    replayed: bool = Field(description="True when an Idempotency-Key returned an earlier run.")


class RunError(Schema):
    type: str
    message: str


class RunOut(Schema):
    id: str
    job: str
    state: str
    percent: float | None
    result: Any = None
    error: RunError | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    worker: str | None
    revoke_requested: bool
    workflow_id: str | None


class RevokeOut(Schema):
    id: str
    outcome: str = Field(
        description="revoked, revoke requested, terminate requested, already finished"
    )


class StepIn(StrictIn):
    job: str = Field(max_length=MAX_NAME)
    args: list[Any] = Field(default_factory=list, max_length=100)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    receives_previous: bool = Field(
        False,
        description="Chain step: gets the previous result as its first argument. "
        "Chord callback: gets the list of the header's results.",
    )


class WorkflowIn(StrictIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "chord",
                    "steps": [{"job": "jobs.demo.add", "args": [1, 2]}],
                    "callback": {"job": "jobs.demo.total", "receives_previous": True},
                }
            ]
        },
    )

    kind: Literal["chain", "group", "chord"]
    steps: list[StepIn] = Field(min_length=1, max_length=MAX_STEPS)
    callback: StepIn | None = None


class WorkflowRunOut(Schema):
    step: int
    role: str
    job: str
    run_id: str
    status_url: str


class WorkflowOut(Schema):
    id: str
    kind: str
    runs: list[WorkflowRunOut]


class DeadLetterOut(Schema):
    id: int
    task_id: str
    job: str
    args: list[Any]
    kwargs: dict[str, Any]
    exception_type: str
    message: str
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    status: str
    requeued_run_id: str


class IdsIn(StrictIn):
    ids: list[Pk] = Field(min_length=1, max_length=500)


class RequeuedOut(Schema):
    dead_letter_id: int
    run_id: str
    status_url: str


class DiscardedOut(Schema):
    discarded: int


class Pagination(LimitOffsetPagination):
    """Limit/offset pages with both bounds, so no offset can overflow the database's LIMIT."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_PAGE)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)
