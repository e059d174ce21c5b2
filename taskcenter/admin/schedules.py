"""The schedule admin: django-celery-beat's PeriodicTask admin, extended, not replaced.

Thin: forms validate through the schedule services, every write goes through them
(audited, seen by beat), and the list/change pages read through the selectors.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_celery_beat.admin import PeriodicTaskAdmin as BeatPeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from taskcenter.admin import schedule_pages
from taskcenter.admin.forms import ScheduleForm
from taskcenter.admin.schedule_pages import result_link
from taskcenter.beat.status import change_applied_at, schedule_missed_runs
from taskcenter.selectors.jobs import celery_jobs_parameters
from taskcenter.selectors.schedules import (
    schedule_changes,
    schedule_in_words,
    schedule_next_runs,
    schedule_recent_runs,
    schedule_run_stats,
)
from taskcenter.services import schedules as services
from taskcenter.services.schedule_specs import SCHEDULE_KINDS

RUN_PERMISSION = "taskcenter.run_periodictask_now"
#: Fieldset classes by schedule kind: schedule_form.js shows only the chosen kind's.
KIND_CLASSES = {kind: ("schedule-kind", f"kind-{kind}") for kind in SCHEDULE_KINDS}


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f} s" if value < 60 else f"{value / 60:.1f} min"


class ScheduleAdmin(BeatPeriodicTaskAdmin):
    """Periodic tasks with catalog-checked forms, run statistics, run now and history."""

    form = ScheduleForm
    change_form_template = "admin/taskcenter/periodictask/change_form.html"
    list_display = (
        "name",
        "enabled",
        "schedule_words",
        "next_run",
        "last_run",
        "success_rate",
        "p50",
        "p95",
    )
    list_filter = ["enabled", "one_off", "task", "queue"]
    list_select_related = ("interval", "crontab", "solar", "clocked", "settings")
    actions = ("enable_schedules", "disable_schedules", "pause_schedules", "run_schedules_now")
    readonly_fields = ("last_run_at", "total_run_count", "paused_until")
    fieldsets = (
        (None, {"fields": ("name", "job", "enabled", "description")}),
        (gettext_lazy("Schedule"), {"fields": ("schedule_type",)}),
        (
            gettext_lazy("Interval"),
            {
                "fields": (("interval_every", "interval_period"),),
                "classes": KIND_CLASSES["interval"],
            },
        ),
        (
            gettext_lazy("Cron"),
            {
                "fields": (
                    (
                        "crontab_minute",
                        "crontab_hour",
                        "crontab_day_of_month",
                        "crontab_month_of_year",
                        "crontab_day_of_week",
                    ),
                    "crontab_timezone",
                ),
                "classes": KIND_CLASSES["crontab"],
            },
        ),
        (
            gettext_lazy("Once"),
            {"fields": ("clocked_clocked_time",), "classes": KIND_CLASSES["clocked"]},
        ),
        (
            gettext_lazy("Solar"),
            {
                "fields": (("solar_event", "solar_latitude", "solar_longitude"),),
                "classes": KIND_CLASSES["solar"],
            },
        ),
        (gettext_lazy("Arguments"), {"fields": ("args", "kwargs", "queue")}),
        (gettext_lazy("State"), {"fields": ("last_run_at", "total_run_count", "paused_until")}),
    )

    class Media:
        js = ("taskcenter/schedule_form.js",)
        css = {"all": ("taskcenter/admin.css",)}

    def get_fieldsets(self, request: HttpRequest, obj: PeriodicTask | None = None) -> Any:
        """The fieldsets, the Arguments one describing every job's parameters."""
        described = render_to_string(
            "admin/taskcenter/periodictask/job_parameters.html", {"jobs": celery_jobs_parameters()}
        )
        return [
            (name, {**opts, "description": described}) if "args" in opts["fields"] else (name, opts)
            for name, opts in super().get_fieldsets(request, obj)
        ]

    # --- list page ---------------------------------------------------------------------

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        rows = list(changelist.result_list)
        stats = schedule_run_stats(names=[row.name for row in rows])
        for row in rows:
            row.run_stats = stats.get(row.name)
        changelist.result_list = rows
        return changelist

    @admin.display(description=gettext_lazy("schedule"))
    def schedule_words(self, obj: PeriodicTask) -> str:
        return schedule_in_words(obj)

    @admin.display(description=gettext_lazy("next run"))
    def next_run(self, obj: PeriodicTask) -> str:
        if not obj.enabled:
            until = getattr(getattr(obj, "settings", None), "paused_until", None)
            return (
                _("paused until %(until)s") % {"until": f"{until:%Y-%m-%d %H:%M %Z}"}
                if until
                else "—"
            )
        runs = schedule_next_runs(task=obj, count=1)
        return f"{runs[0].at:%Y-%m-%d %H:%M:%S %Z}" if runs else "—"

    @admin.display(description=gettext_lazy("last run"))
    def last_run(self, obj: PeriodicTask) -> str:
        stats = getattr(obj, "run_stats", None)
        if stats is None or stats.last_at is None:
            # Beat stamps last_run_at when it first loads a schedule: only a schedule that
            # ran (total_run_count) has a real one, whose results retention deleted.
            if obj.total_run_count and obj.last_run_at:
                return f"{obj.last_run_at:%Y-%m-%d %H:%M:%S}"
            return _("never")
        return f"{stats.last_at:%Y-%m-%d %H:%M:%S} {stats.last_status}"

    @admin.display(description=gettext_lazy("success"))
    def success_rate(self, obj: PeriodicTask) -> str:
        stats = getattr(obj, "run_stats", None)
        rate = stats.success_rate if stats else None
        return (
            "—"
            if rate is None
            else _("%(rate)s of %(finished)s") % {"rate": f"{rate:.0%}", "finished": stats.finished}
        )

    @admin.display(description=gettext_lazy("p50"))
    def p50(self, obj: PeriodicTask) -> str:
        return _seconds(obj.run_stats.p50 if getattr(obj, "run_stats", None) else None)

    @admin.display(description=gettext_lazy("p95"))
    def p95(self, obj: PeriodicTask) -> str:
        return _seconds(obj.run_stats.p95 if getattr(obj, "run_stats", None) else None)

    @admin.display(description=gettext_lazy("paused until"))
    def paused_until(self, obj: PeriodicTask) -> str:
        until = getattr(getattr(obj, "settings", None), "paused_until", None)
        return f"{until:%Y-%m-%d %H:%M:%S %Z}" if until else "—"

    # --- writes, all through the services -------------------------------------------------

    def save_model(
        self, request: HttpRequest, obj: PeriodicTask, form: ScheduleForm, change: bool
    ) -> None:
        if change:
            saved = services.schedule_update(user=request.user, task=obj, data=form.service_data)
        else:
            saved = services.schedule_create(user=request.user, data=form.service_data)
        for field in PeriodicTask._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))

    def delete_model(self, request: HttpRequest, obj: PeriodicTask) -> None:
        services.schedule_delete(user=request.user, task=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for task in queryset:
            services.schedule_delete(user=request.user, task=task)

    def has_run_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request) and request.user.has_perm(RUN_PERMISSION)

    @admin.action(description=gettext_lazy("Enable selected schedules"), permissions=["change"])
    def enable_schedules(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = services.schedules_set_enabled(
            user=request.user, tasks=list(queryset), enabled=True
        )
        self.message_user(request, _("%(count)d schedule(s) enabled.") % {"count": count})

    @admin.action(description=gettext_lazy("Disable selected schedules"), permissions=["change"])
    def disable_schedules(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = services.schedules_set_enabled(
            user=request.user, tasks=list(queryset), enabled=False
        )
        self.message_user(request, _("%(count)d schedule(s) disabled.") % {"count": count})

    @admin.action(
        description=gettext_lazy("Pause selected schedules until…"), permissions=["change"]
    )
    def pause_schedules(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return HttpResponseRedirect(reverse("admin:taskcenter_schedule_pause") + f"?ids={ids}")

    @admin.action(
        description=gettext_lazy("Run selected schedules now (stored arguments)"),
        permissions=["run"],
    )
    def run_schedules_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        for task in queryset:
            try:
                task_id = services.schedule_run_now(user=request.user, task=task)
            except ValidationError as exc:
                self.message_user(request, f"{task.name}: {exc.messages}", messages.ERROR)
                continue
            self.message_user(
                request, format_html(_("{} sent: {}"), task.name, result_link(task_id))
            )

    # --- extra pages ----------------------------------------------------------------------

    def get_urls(self) -> list:
        def page(func: Any) -> Any:
            return self.admin_site.admin_view(functools.partial(func, self))

        return [
            path("pause/", page(schedule_pages.pause), name="taskcenter_schedule_pause"),
            path(
                "<path:object_id>/run-now/",
                page(schedule_pages.run_now),
                name="taskcenter_schedule_run_now",
            ),
            path(
                "<path:object_id>/resume/",
                page(schedule_pages.resume),
                name="taskcenter_schedule_resume",
            ),
            *super().get_urls(),
        ]

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        extra_context = extra_context or {}
        task = PeriodicTask.objects.filter(pk=object_id).first() if object_id else None
        if task is not None:
            extra_context.update(
                schedule_words=schedule_in_words(task),
                next_runs=schedule_next_runs(task=task) if task.enabled else [],
                recent_runs=schedule_recent_runs(task=task),
                paused_until=getattr(getattr(task, "settings", None), "paused_until", None),
                beat_change=change_applied_at(task_id=task.pk),
                missed_runs=schedule_missed_runs(task_id=task.pk),
                can_run=self.has_run_permission(request),
                can_change=self.has_change_permission(request, task),
            )
        return admin.ModelAdmin.changeform_view(self, request, object_id, form_url, extra_context)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        task = get_object_or_404(PeriodicTask, pk=object_id)
        if not self.has_view_or_change_permission(request, task):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": task,
            "changes": schedule_changes(task=task),
            "title": _("History of %(name)s") % {"name": task.name},
        }
        return TemplateResponse(request, "admin/taskcenter/periodictask/history.html", context)
