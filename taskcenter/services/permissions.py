"""One Django permission per catalog job: who may trigger it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS

from taskcenter.catalog import Runtime, all_jobs


def job_permissions_sync(*, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> int:
    """Create the missing `taskcenter.trigger_<job>` permissions; return how many were new.

    Connected to post_migrate, so every catalog job has its permission after `migrate`
    and after a test database flush. They hang off the Run model's content type.
    """
    from taskcenter.models import Run

    content_type = ContentType.objects.db_manager(using).get_for_model(Run)
    existing = set(
        Permission.objects.using(using)
        .filter(content_type=content_type)
        .values_list("codename", flat=True)
    )
    missing = [
        Permission(
            content_type=content_type,
            codename=job.permission_codename,
            name=f"Can trigger {job.name}"[:255],
        )
        for job in all_jobs()
        if job.runtime in (Runtime.CELERY, Runtime.AIO) and job.permission_codename not in existing
    ]
    Permission.objects.using(using).bulk_create(missing)
    return len(missing)
