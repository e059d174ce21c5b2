"""The HTTP API under `/api/` (django-ninja); schema at `/api/openapi.json`, docs at `/api/docs`."""

from ninja import NinjaAPI

from taskcenter.api import dead_letters, errors, jobs, runs, schedules, workflows
from taskcenter.api.auth import BearerTokenAuth, StaffSessionAuth

api = NinjaAPI(
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
