"""`/api/runs`: the state of one run, and revoking it."""

from functools import cache
from urllib.parse import quote

from django.http import HttpRequest
from django.urls import get_script_prefix, reverse
from ninja import Query, Router, Schema

from taskcenter.api.errors import Error
from taskcenter.api.schemas import RevokeOut, RunOut
from taskcenter.selectors.runs import run_status
from taskcenter.services.runs import run_get, run_revoke

router = Router(tags=["runs"])


_PLACEHOLDER = "run-id"


@cache
def _status_path() -> str:
    """The status URL's path after the script prefix, with a placeholder for the id."""
    return reverse("api:get_run", args=[_PLACEHOLDER]).removeprefix(get_script_prefix())


def run_status_url(run_id: str) -> str:
    """Return `reverse("api:get_run", args=[run_id])`, without resolving it per call.

    Every trigger answers with this URL: built from a prefix reversed once, not per request.
    """
    return get_script_prefix() + _status_path().replace(_PLACEHOLDER, quote(run_id, safe=""))


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
