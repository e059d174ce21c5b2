"""Admin pages for API tokens, runs (with progress) and dead letters."""

import json

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone
from django_celery_results.models import TaskResult

from taskcenter.models import ApiToken, DeadLetter, Run
from taskcenter.services.tokens import token_authenticate

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    """Render admin pages without `collectstatic`: the manifest storage needs its manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def admin_client_(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_token_created_in_the_admin_is_shown_once_and_stored_hashed(admin_client_, admin_user):
    answer = admin_client_.post(
        "/admin/taskcenter/apitoken/add/", {"user": admin_user.pk, "name": "deploy"}, follow=True
    )

    shown = [str(m) for m in get_messages(answer.wsgi_request)]
    secret = next(word for m in shown for word in m.split() if word.startswith("tc_"))
    token = ApiToken.objects.get(name="deploy")
    assert token_authenticate(secret=secret) == token
    assert (
        secret
        not in admin_client_.get(f"/admin/taskcenter/apitoken/{token.pk}/change/").content.decode()
    )


def test_revoke_action_refuses_the_token_from_then_on(admin_client_, admin_user):
    admin_client_.post("/admin/taskcenter/apitoken/add/", {"user": admin_user.pk, "name": "a"})
    token = ApiToken.objects.get()

    admin_client_.post(
        "/admin/taskcenter/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    token.refresh_from_db()
    assert token.revoked_at is not None


def test_runs_list_shows_state_and_progress(admin_client_):
    run = Run.objects.create(id="11111111-1111-4111-8111-111111111111", job="jobs.demo.slow")
    TaskResult.objects.create(
        task_id=run.id, status="PROGRESS", result=json.dumps({"percent": 40.0, "message": ""})
    )

    page = admin_client_.get("/admin/taskcenter/run/").content.decode()

    assert "PROGRESS" in page
    assert "40%" in page


@pytest.mark.services
def test_dead_letter_actions_requeue_and_discard(admin_client_):
    now = timezone.now()
    letters = [
        DeadLetter.objects.create(
            task_id=f"22222222-2222-4222-8222-00000000000{i}",
            job="jobs.demo.add",
            kwargs={"x": i, "y": 1},
            exception_type="ValueError",
            message="boom",
            first_failed_at=now,
            last_failed_at=now,
        )
        for i in range(2)
    ]

    admin_client_.post(
        "/admin/taskcenter/deadletter/", {"action": "requeue", "_selected_action": [letters[0].pk]}
    )
    admin_client_.post(
        "/admin/taskcenter/deadletter/", {"action": "discard", "_selected_action": [letters[1].pk]}
    )

    requeued, discarded = (DeadLetter.objects.get(pk=x.pk) for x in letters)
    assert requeued.status == "requeued"
    assert Run.objects.filter(id=requeued.requeued_run_id, kwargs={"x": 0, "y": 1}).exists()
    assert discarded.status == "discarded"
