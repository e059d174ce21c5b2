"""Who may call the API: hashed expiring revocable tokens, admin sessions with CSRF, permissions."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from taskcenter.models import ApiToken
from taskcenter.services.tokens import token_hash

pytestmark = [pytest.mark.django_db(transaction=True)]

TRIGGER = "/api/jobs/jobs.demo.add/runs"


def test_request_without_credentials_is_401(http):
    assert http.get("/api/jobs").status == 401
    assert http.post(TRIGGER, {"kwargs": {"x": 1, "y": 2}}).status == 401


def test_token_is_stored_only_as_its_hash(make_user, token_for):
    user = make_user()

    secret = token_for(user)

    stored = ApiToken.objects.get(user=user)
    assert stored.key_hash == token_hash(secret)
    assert secret not in (stored.key_hash, stored.prefix)
    assert secret.startswith(stored.prefix)


def test_valid_token_lists_the_catalog_with_parameter_schemas(http, make_user, token_for):
    token = token_for(make_user(jobs=("jobs.demo.add",)))

    answer = http.get("/api/jobs", token=token)

    assert answer.status == 200
    jobs = {j["name"]: j for j in answer.body}
    add = jobs["jobs.demo.add"]
    assert add["parameters"]["properties"]["x"]["type"] == "integer"
    assert add["parameters"]["required"] == ["x", "y"]
    assert add["can_trigger"] is True
    assert add["trigger_url"] == TRIGGER
    assert jobs["jobs.demo.slow"]["can_trigger"] is False
    assert jobs["jobs.demo.call_downstream"]["retry"]["max_retries"] == 2
    assert jobs["jobs.maintenance.purge_results"]["runtime"] == "local"
    assert jobs["jobs.maintenance.purge_results"]["trigger_url"] is None


def test_expired_token_is_refused(http, make_user, token_for):
    token = token_for(make_user(), expires_at=timezone.now() - timedelta(seconds=1))

    assert http.get("/api/jobs", token=token).status == 401


def test_revoked_token_is_refused_by_the_management_command(http, make_user, token_for, capsys):
    token = token_for(make_user())
    assert http.get("/api/jobs", token=token).status == 200

    prefix = ApiToken.objects.get().prefix

    call_command("api_token", "revoke", prefix)

    assert "revoked" in capsys.readouterr().out
    assert http.get("/api/jobs", token=token).status == 401


def test_management_command_creates_a_working_token(http, make_user, capsys):
    user = make_user()

    call_command("api_token", "create", user.username, "--name", "ci", "--days", "1")

    secret = capsys.readouterr().out.strip()
    assert http.get("/api/jobs", token=secret).status == 200
    assert ApiToken.objects.get(user=user).expires_at > timezone.now()


def test_token_of_an_inactive_user_is_refused(http, make_user, token_for):
    user = make_user()
    token = token_for(user)
    user.is_active = False
    user.save()

    assert http.get("/api/jobs", token=token).status == 401


def test_user_without_the_jobs_trigger_permission_gets_403(http, make_user, token_for):
    token = token_for(make_user(jobs=("jobs.demo.slow",)))

    answer = http.post(TRIGGER, {"kwargs": {"x": 1, "y": 2}}, token=token)

    assert answer.status == 403
    assert "traceback" not in answer.raw.decode().lower()


def test_task_known_to_celery_but_outside_the_catalog_is_404(http, make_user, token_for):
    token = token_for(make_user(perms=("taskcenter.trigger_any_job",)))

    for name in ("celery.backend_cleanup", "celery.chord_unlock", "no.such.job"):
        answer = http.post(f"/api/jobs/{name}/runs", {}, token=token)
        assert answer.status == 404, name


#: An unmasked CSRF secret: Django accepts the cookie's value itself as the header.
CSRF = "A" * 32


def _login(http, user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    http.cookies["sessionid"] = client.cookies["sessionid"].value
    http.cookies["csrftoken"] = CSRF


def test_admin_session_may_read_but_must_send_csrf_to_trigger(http, make_user, no_rate_limit):
    user = make_user(jobs=("jobs.demo.add",), is_staff=True)
    _login(http, user)
    assert http.get("/api/jobs").status == 200

    without = http.post(TRIGGER, {"kwargs": {"x": 1, "y": 2}})
    with_csrf = http.post(
        TRIGGER,
        {"kwargs": {"x": 1, "y": 2}},
        headers={"X-CSRFToken": CSRF},
    )

    assert without.status == 403
    assert "CSRF" in without.body["detail"]
    assert with_csrf.status == 202, with_csrf.body


def test_session_of_a_non_staff_user_is_not_accepted(http, make_user):
    _login(http, make_user(jobs=("jobs.demo.add",)))

    assert http.get("/api/jobs").status == 401


def test_mutating_endpoints_refuse_get(http, trigger_token):
    assert http.get(TRIGGER, token=trigger_token).status == 405
    assert http.get("/api/workflows", token=trigger_token).status == 405


def test_a_run_is_visible_to_its_starter_and_to_who_may_trigger_its_job_only(
    http, make_user, token_for, no_rate_limit
):
    starter = token_for(make_user(jobs=("jobs.demo.add",)))
    colleague = token_for(make_user(jobs=("jobs.demo.add",)))
    auditor = token_for(make_user(perms=("taskcenter.view_run",)))
    stranger = token_for(make_user(jobs=("jobs.demo.slow",)))
    run_id = http.post(TRIGGER, {"kwargs": {"x": 1, "y": 2}}, token=starter).body["id"]

    seen = [http.get(f"/api/runs/{run_id}", token=t).status for t in (starter, colleague, auditor)]

    assert seen == [200, 200, 200]
    assert http.get(f"/api/runs/{run_id}", token=stranger).status == 403
    assert http.post(f"/api/runs/{run_id}/revoke", token=stranger).status == 403


def test_openapi_schema_and_interactive_docs_are_served(http, settings):
    # The docs page links ninja's bundled Swagger UI; without `collectstatic` the manifest
    # storage has no manifest, so serve static names plainly here.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    schema = http.get("/api/openapi.json")
    docs = http.get("/api/docs")

    assert schema.status == 200
    assert "/api/jobs/{name}/runs" in schema.body["paths"]
    assert "/api/schedules/{schedule_id}/run-now" in schema.body["paths"]
    assert docs.status == 200
    assert b"swagger" in docs.raw.lower()
