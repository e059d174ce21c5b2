"""`/api/runs`: the state of one run, and revoking it."""

from django.http import HttpRequest
from ninja import Query, Router, Schema

from taskcenter.api.errors import Error
from taskcenter.api.schemas import RevokeOut, RunOut
from taskcenter.services.runs import run_get, run_revoke, run_status

router = Router(tags=["runs"])


class RevokeQuery(Schema):
    terminate: bool = False


@router.get(
    "/{run_id}", response={200: RunOut, 401: Error, 403: Error, 404: Error}, url_name="get_run"
)
def get_run(request: HttpRequest, run_id: str) -> RunOut:
    """State, progress, result or error summary, timestamps, attempts and worker of a run.

    An id this system never issued is 404 (Celery alone would call it PENDING).
    """
    status = run_status(run=run_get(run_id=run_id, user=request.auth))
    return RunOut(**status.__dict__)


@router.post(
    "/{run_id}/revoke",
    response={200: RevokeOut, 401: Error, 403: Error, 404: Error, 413: Error, 503: Error},
)
def revoke_run(request: HttpRequest, run_id: str, query: Query[RevokeQuery]) -> RevokeOut:
    """Revoke a run: a queued one never starts; a running one stops only with `terminate`."""
    run = run_get(run_id=run_id, user=request.auth)
    outcome = run_revoke(user=request.auth, run=run, terminate=query.terminate)
    return RevokeOut(id=run.id, outcome=outcome)
