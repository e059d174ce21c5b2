"""Admin registrations: django-celery-beat's and django-celery-results' admins, extended.

The stock registrations are replaced by subclasses (never forks), so upgrades of either
library keep their admin behaviour and add ours on top.
"""

from django.contrib import admin
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult

from taskcenter.admin import (
    alerts,  # noqa: F401  (alert rules and the alerts sent)
    local_jobs,  # noqa: F401  (local jobs and their runs)
    records,  # noqa: F401  (API tokens, runs, dead letters)
)
from taskcenter.admin.audit import ScheduleChangeAdmin
from taskcenter.admin.results import ResultAdmin
from taskcenter.admin.schedules import ScheduleAdmin
from taskcenter.models import ScheduleChange

for model in (PeriodicTask, TaskResult):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
admin.site.register(PeriodicTask, ScheduleAdmin)
admin.site.register(TaskResult, ResultAdmin)
admin.site.register(ScheduleChange, ScheduleChangeAdmin)

# The index shows which beat leads and the runs it missed or skipped lately.
admin.site.index_template = "admin/taskcenter/index.html"
