"""The result admin: django-celery-results' TaskResult admin with run timings and filters."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django_celery_results.admin import TaskResultAdmin as StockTaskResultAdmin
from django_celery_results.models import TaskResult

from taskcenter.admin.display import NotedListMixin, seconds, timestamp
from taskcenter.selectors.timings import duration_seconds, queue_wait_seconds


class ScheduleFilter(admin.SimpleListFilter):
    """Filter by the schedule that sent the run (`periodic_task_name`)."""

    title = _("schedule")
    parameter_name = "schedule"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        from django_celery_beat.models import PeriodicTask

        names = list(PeriodicTask.objects.order_by("name").values_list("name", flat=True)[:200])
        if self.value() and self.value() not in names:  # runs of a deleted or renamed schedule
            names.insert(0, self.value())
        return [(name, name) for name in names]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(periodic_task_name=self.value()) if self.value() else queryset


class JobFilter(admin.SimpleListFilter):
    """Filter by job (task name), listing the catalog rather than scanning the table."""

    title = _("job")
    parameter_name = "job"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        from taskcenter.catalog import Runtime, all_jobs

        shown = (Runtime.CELERY, Runtime.AIO)
        return [(job.name, job.name) for job in all_jobs() if job.runtime in shown]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(task_name=self.value()) if self.value() else queryset


class ResultAdmin(NotedListMixin, StockTaskResultAdmin):
    """Every run, PENDING and STARTED included, with queue wait and duration; read-only."""

    list_display = (
        "task_id",
        "status",
        "task_name",
        "schedule_link",
        "worker",
        "created",
        "queue_wait",
        "duration",
        "done",
    )
    list_note = (
        _(
            "Every run of every Celery job, whoever started it (a schedule, the API, a "
            "workflow, run now), as the results backend stored it. The runs started through "
            "the API, with their user and progress, are also under {}."
        ),
        _("Runs"),
        "admin:taskcenter_run_changelist",
    )
    list_filter = ("status", JobFilter, ScheduleFilter, "worker", "date_done")
    search_fields = ("=task_id",)
    # Exact counts of a million-row table on every page view cost more than they tell, and
    # the stock date hierarchy runs SELECT DISTINCT DATE(date_done) over every row (1.9 s
    # at 1,000,000 results); the date_done filter covers the same need from the index.
    show_full_result_count = False
    date_hierarchy = None
    list_per_page = 50

    class Media:
        css = {"all": ("taskcenter/admin.css",)}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: TaskResult | None = None) -> bool:
        return False

    @admin.display(description=_("created"), ordering="date_created")
    def created(self, obj: TaskResult) -> str:
        return timestamp(obj.date_created)

    @admin.display(description=_("done"), ordering="date_done")
    def done(self, obj: TaskResult) -> str:
        return timestamp(obj.date_done) if obj.status not in ("PENDING", "STARTED") else "—"

    @admin.display(description=_("schedule"), ordering="periodic_task_name")
    def schedule_link(self, obj: TaskResult) -> str:
        if not obj.periodic_task_name:
            return "—"
        url = reverse("admin:django_celery_beat_periodictask_changelist")
        return format_html(
            '<a href="{}?q={}">{}</a>', url, obj.periodic_task_name, obj.periodic_task_name
        )

    @admin.display(description=_("queue wait"))
    def queue_wait(self, obj: TaskResult) -> str:
        return seconds(queue_wait_seconds(created=obj.date_created, started=obj.date_started))

    @admin.display(description=_("duration"))
    def duration(self, obj: TaskResult) -> str:
        if obj.status in ("PENDING", "STARTED"):
            return "—"
        return seconds(duration_seconds(started=obj.date_started, done=obj.date_done))
