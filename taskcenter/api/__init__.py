"""The HTTP API under `/api/` (django-ninja); schema at `/api/openapi.json`, docs at `/api/docs`."""

from typing import Any

from ninja import NinjaAPI

from taskcenter.api import dead_letters, errors, jobs, runs, schedules, workflows
from taskcenter.api.auth import BearerTokenAuth, StaffSessionAuth


class TaskcenterAPI(NinjaAPI):
    """The API whose schema also lists the error answers every operation may give."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        return errors.schema_with_common_responses(super().get_openapi_schema(*args, **kwargs))


api = TaskcenterAPI(
    title="taskcenter",
    version="1",
    description="Trigger catalog jobs, chain them into workflows, watch, revoke and repair them.",
    auth=[BearerTokenAuth(), StaffSessionAuth()],
    parser=errors.StrictJSONParser(),
    urls_namespace="api",
)
errors.install(api)
api.add_router("/jobs", jobs.router)
api.add_router("/runs", runs.router)
api.add_router("/workflows", workflows.router)
api.add_router("/schedules", schedules.router)
api.add_router("/dead-letters", dead_letters.router)
