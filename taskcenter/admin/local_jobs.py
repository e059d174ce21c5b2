"""Admin for local jobs: every `@local_job` listed and controlled, and each run's page.

"Local jobs" lists every local job of the catalog with its trigger in words, next run,
pause, last run and success rate; actions pause, resume, run now and reset the trigger
(each needs its own permission); a job's page sets a trigger override. Every change goes
through `services.local_jobs` (which audits it); the leading run_apscheduler applies it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from taskcenter.catalog import Runtime, UnknownJobError, all_jobs, get_job
from taskcenter.local.triggers import PERIODS, override_clean, trigger_in_words
from taskcenter.models import LocalJobRun, LocalJobState
from taskcenter.selectors.local_jobs import local_job_run_stats, local_scheduler_status
from taskcenter.services.local_jobs import (
    local_job_pause,
    local_job_resume,
    local_job_run_now,
    local_job_states_ensure,
    local_job_trigger_set,
)

KINDS = (
    ("code", gettext_lazy("the code's trigger")),
    ("cron", gettext_lazy("cron expression")),
    ("interval", gettext_lazy("interval")),
)


class TriggerOverrideForm(forms.ModelForm):
    """Choose the code's trigger, a cron expression or an interval; validated as schedules."""

    kind = forms.ChoiceField(choices=KINDS, label=gettext_lazy("trigger"))
    cron = forms.CharField(
        required=False,
        label=gettext_lazy("cron expression"),
        help_text=gettext_lazy("minute hour day-of-month month day-of-week, e.g. */5 * * * *"),
    )
    every = forms.IntegerField(required=False, min_value=1, label=gettext_lazy("every"))
    period = forms.ChoiceField(required=False, choices=[(p, p) for p in PERIODS], initial="seconds")

    class Meta:
        model = LocalJobState
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        override = self.instance.trigger_override or {}
        if "cron" in override:
            self.initial.update(kind="cron", cron=override["cron"])
        elif "interval" in override:
            self.initial.update(kind="interval", **override["interval"])
        else:
            self.initial["kind"] = "code"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("kind")
        if kind == "cron":
            self.override = {"cron": data.get("cron") or ""}
        elif kind == "interval":
            self.override = {"interval": {"every": data.get("every"), "period": data.get("period")}}
        else:
            self.override = None
        if self.override is not None:
            try:
                self.override = override_clean(self.override)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    target = "cron" if field == "cron" else "every"
                    self.add_error(target if target in self.fields else None, errors)
        return data


@admin.register(LocalJobState)
class LocalJobAdmin(admin.ModelAdmin):
    form = TriggerOverrideForm
    list_display = (
        "job",
        "trigger_words",
        "next_run",
        "paused",
        "last_run",
        "last_duration",
        "success_rate",
        "runs_link",
    )
    list_filter = ["paused"]
    search_fields = ["job"]
    actions = ("pause_jobs", "resume_jobs", "run_jobs_now", "reset_triggers")
    readonly_fields = ("job", "trigger_words", "paused", "run_now_requested_at", "runs_link")
    fieldsets = (
        (None, {"fields": ("job", "trigger_words", "paused", "run_now_requested_at", "runs_link")}),
        (gettext_lazy("Trigger override"), {"fields": ("kind", "cron", ("every", "period"))}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("taskcenter.override_localjob_trigger")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """Without the override permission the page only shows the job and its trigger."""
        return self.fieldsets if self.has_change_permission(request, obj) else self.fieldsets[:1]

    def has_pause_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("taskcenter.pause_localjob")

    def has_run_now_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("taskcenter.run_localjob_now")

    def get_queryset(self, request: HttpRequest) -> QuerySet[LocalJobState]:
        names = [job.name for job in all_jobs(Runtime.LOCAL)]
        return super().get_queryset(request).filter(job__in=names)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        local_job_states_ensure()
        status = local_scheduler_status()
        extra_context = {
            **(extra_context or {}),
            "subtitle": _("run_apscheduler leader: %(leader)s; standbys: %(n)d")
            % {
                "leader": status.leader.ident if status.leader else _("none"),
                "n": len(status.standbys),
            },
        }
        return super().changelist_view(request, extra_context)

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        rows = list(changelist.result_list)
        stats = local_job_run_stats(names=[row.job for row in rows])
        status = local_scheduler_status()
        for row in rows:
            row.run_stats = stats.get(row.job)
            row.next_run_at = status.next_run(row.job)
        changelist.result_list = rows
        return changelist

    @admin.display(description=gettext_lazy("trigger"))
    def trigger_words(self, obj: LocalJobState) -> str:
        try:
            job = get_job(obj.job, Runtime.LOCAL)
        except UnknownJobError:
            return _("not in the catalog")
        return trigger_in_words(code=job.trigger, override=obj.trigger_override)

    @admin.display(description=gettext_lazy("next run"))
    def next_run(self, obj: LocalJobState) -> str:
        if obj.paused:
            return _("paused")
        at = getattr(obj, "next_run_at", None)
        return f"{at:%Y-%m-%d %H:%M:%S %Z}" if at else "—"

    @admin.display(description=gettext_lazy("last run"))
    def last_run(self, obj: LocalJobState) -> str:
        stats = getattr(obj, "run_stats", None)
        if stats is None or stats.last_outcome is None:
            return "—"
        label = dict(LocalJobRun.Outcome.choices).get(stats.last_outcome, stats.last_outcome)
        return f"{stats.last_at:%Y-%m-%d %H:%M:%S} {label}"

    @admin.display(description=gettext_lazy("duration"))
    def last_duration(self, obj: LocalJobState) -> str:
        stats = getattr(obj, "run_stats", None)
        if stats is None or stats.last_duration is None:
            return "—"
        return f"{stats.last_duration:.3f} s"

    @admin.display(description=gettext_lazy("success"))
    def success_rate(self, obj: LocalJobState) -> str:
        stats = getattr(obj, "run_stats", None)
        rate = stats.success_rate if stats else None
        if rate is None:
            return "—"
        return _("%(rate)s of %(n)d") % {"rate": f"{rate:.0%}", "n": stats.finished}

    @admin.display(description=gettext_lazy("runs"))
    def runs_link(self, obj: LocalJobState) -> str:
        url = reverse("admin:taskcenter_localjobrun_changelist") + f"?job={obj.job}"
        return format_html('<a href="{}">{}</a>', url, _("runs"))

    def _each(self, request: HttpRequest, queryset: QuerySet, service: Any, done: str) -> None:
        names = list(queryset.values_list("job", flat=True))
        for name in names:
            try:
                service(user=request.user, job=name)
            except UnknownJobError:
                self.message_user(
                    request, _("%(job)s is not a local job") % {"job": name}, messages.ERROR
                )
        self.message_user(request, done % {"n": len(names)})

    @admin.action(description=gettext_lazy("Pause selected local jobs"), permissions=["pause"])
    def pause_jobs(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, local_job_pause, _("%(n)d local job(s) paused."))

    @admin.action(description=gettext_lazy("Resume selected local jobs"), permissions=["pause"])
    def resume_jobs(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, local_job_resume, _("%(n)d local job(s) resumed."))

    @admin.action(description=gettext_lazy("Run selected local jobs now"), permissions=["run_now"])
    def run_jobs_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, local_job_run_now, _("%(n)d local job(s) asked to run now."))

    @admin.action(description=gettext_lazy("Reset to the code's trigger"), permissions=["change"])
    def reset_triggers(self, request: HttpRequest, queryset: QuerySet) -> None:
        def reset(*, user: Any, job: str) -> None:
            local_job_trigger_set(user=user, job=job, override=None)

        self._each(request, queryset, reset, _("%(n)d local job(s) back on their code's trigger."))

    def save_model(self, request: HttpRequest, obj: LocalJobState, form: Any, change: bool) -> None:
        local_job_trigger_set(user=request.user, job=obj.job, override=form.override)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        """Skip the stock entry: the service has written one with what changed."""
        return None


@admin.register(LocalJobRun)
class LocalJobRunAdmin(admin.ModelAdmin):
    list_display = (
        "job",
        "outcome",
        "scheduled_at",
        "started_at",
        "duration",
        "process",
        "short_error",
    )
    list_filter = ["outcome", "job"]
    search_fields = ["job", "error"]
    date_hierarchy = "created_at"
    fields = (
        "job",
        "outcome",
        "scheduled_at",
        "started_at",
        "finished_at",
        "duration",
        "process",
        "error",
        "traceback_text",
        "created_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("error"))
    def short_error(self, obj: LocalJobRun) -> str:
        return obj.error[:120]

    @admin.display(description=gettext_lazy("traceback"))
    def traceback_text(self, obj: LocalJobRun) -> HttpResponse | str:
        return format_html("<pre>{}</pre>", obj.traceback) if obj.traceback else "—"
