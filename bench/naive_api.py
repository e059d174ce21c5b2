"""The trigger endpoint as a user of Django, Celery and django-ninja would write it.

The anchor of bench/trigger_api.py: token lookup through the ORM, Django's `has_perm`,
the catalog's validation, a `Run` row and `apply_async`, with none of the fast paths.
Served only by bench/naive_settings.py; no production code imports it.
"""

import uuid

from ninja import NinjaAPI, Schema
from ninja.security import HttpBearer

from taskcenter.catalog import JobArgumentsError, UnknownJobError, get_job
from taskcenter.models import ApiToken, Run
from taskcenter.services.tokens import token_hash


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        found = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=token_hash(token), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        return found.user if found else None


class TriggerIn(Schema):
    args: list = []
    kwargs: dict = {}


api = NinjaAPI(urls_namespace="naive", auth=TokenAuth())


@api.post("/jobs/{name}/runs")
def trigger(request, name: str, payload: TriggerIn):
    try:
        job = get_job(name)
    except UnknownJobError:
        return api.create_response(request, {"detail": "unknown job"}, status=404)
    if not request.auth.has_perm(f"taskcenter.{job.permission_codename}"):
        return api.create_response(request, {"detail": "forbidden"}, status=403)
    try:
        kwargs = job.validate(payload.args, payload.kwargs)
    except JobArgumentsError as exc:
        return api.create_response(request, {"detail": str(exc)}, status=422)
    run = Run.objects.create(id=str(uuid.uuid4()), job=name, kwargs=kwargs, user=request.auth)
    job.task.apply_async(kwargs=kwargs, task_id=run.id)
    return api.create_response(request, {"id": run.id}, status=202)
