"""AnyIO runs in the admin: in the run list marked with their runtime, and in the results."""

import functools

import anyio
import pytest
from django.test import Client

from jobs.demo import pause
from taskcenter.aio.manager import TaskManager
from taskcenter.aio.recording import run_record
from taskcenter.models import Run

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


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


def _run_in_a_manager(run: Run, **kwargs) -> None:
    async def main() -> None:
        async with TaskManager(listener=run_record) as manager:
            manager.add_task(
                functools.partial(pause, **kwargs),
                name=run.job,
                task_id=run.id,
                meta={"run": True, "kwargs": kwargs},
            )

    anyio.run(main)


def test_aio_run_is_listed_with_its_runtime_and_recorded_state(admin_client_):
    aio_run = Run.objects.create(
        id="22222222-2222-4222-8222-222222222222", job="jobs.demo.pause", runtime="aio"
    )
    Run.objects.create(id="33333333-3333-4333-8333-333333333333", job="jobs.demo.add")
    _run_in_a_manager(aio_run, seconds=0)

    listed = admin_client_.get("/admin/taskcenter/run/").content.decode()
    only_aio = admin_client_.get("/admin/taskcenter/run/?runtime=aio").content.decode()
    results = admin_client_.get(
        "/admin/django_celery_results/taskresult/?job=jobs.demo.pause"
    ).content.decode()

    assert "AnyIO (in the web process)" in listed
    assert "SUCCESS" in only_aio
    assert aio_run.id in only_aio
    assert "33333333-3333-4333-8333-333333333333" not in only_aio
    assert aio_run.id in results
    assert "aio@" in results
