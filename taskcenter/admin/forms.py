"""Admin forms for schedules: the job is picked from the catalog, everything is validated
by the schedule services before saving, so bad input is a form error, not a failed run."""

from __future__ import annotations

import json
import zoneinfo
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin import widgets
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_celery_beat.models import PERIOD_CHOICES, SOLAR_SCHEDULES, PeriodicTask

from taskcenter.catalog import Delivery, Job, Runtime, all_jobs
from taskcenter.services.schedule_specs import CRON_FIELDS, SCHEDULE_KINDS, spec_clean

#: The schedule kinds as the form names them.
KIND_LABELS = {
    "interval": gettext_lazy("interval"),
    "crontab": gettext_lazy("cron"),
    "clocked": gettext_lazy("once"),
    "solar": gettext_lazy("solar"),
}


def delivery_label(job: Job) -> str:
    """The job's delivery promise in words (at-least-once or at-most-once)."""
    if job.delivery == Delivery.AT_LEAST_ONCE:
        return str(_("at-least-once (idempotent)"))
    return str(_("at-most-once"))


def _job_choices() -> list[tuple[str, str]]:
    choices = [("", "---------")]
    for job in all_jobs(Runtime.CELERY):
        label = f"{job.name} [{delivery_label(job)}]"
        if job.description:
            label += f" — {job.description.splitlines()[0]}"
        choices.append((job.name, label))
    return choices


def _queue_choices() -> list[tuple[str, str]]:
    return [("", _("the job's own queue"))] + [
        (q.name, q.name) for q in settings.CELERY_TASK_QUEUES
    ]


def _form_field(service_key: str) -> str:
    """Map a service error key (`crontab.minute`, `schedule`) to this form's field name."""
    return {"schedule": "schedule_type"}.get(service_key, service_key.replace(".", "_"))


class ScheduleForm(forms.ModelForm):
    """Create or edit a periodic task with any of the four schedule kinds inline."""

    job = forms.ChoiceField(
        choices=_job_choices, help_text=gettext_lazy("A registered Celery job.")
    )
    schedule_type = forms.ChoiceField(
        choices=list(KIND_LABELS.items()), widget=forms.RadioSelect, initial="interval"
    )
    interval_every = forms.IntegerField(required=False, min_value=1, label=gettext_lazy("Every"))
    interval_period = forms.ChoiceField(
        choices=PERIOD_CHOICES, initial="seconds", required=False, label=gettext_lazy("Period")
    )
    crontab_minute = forms.CharField(required=False, initial="*", label=gettext_lazy("Minute"))
    crontab_hour = forms.CharField(required=False, initial="*", label=gettext_lazy("Hour"))
    crontab_day_of_month = forms.CharField(
        required=False, initial="*", label=gettext_lazy("Day of month")
    )
    crontab_month_of_year = forms.CharField(
        required=False, initial="*", label=gettext_lazy("Month")
    )
    crontab_day_of_week = forms.CharField(
        required=False, initial="*", label=gettext_lazy("Day of week")
    )
    crontab_timezone = forms.ChoiceField(
        required=False,
        label=gettext_lazy("Time zone"),
        choices=lambda: [(z, z) for z in sorted(zoneinfo.available_timezones())],
    )
    clocked_clocked_time = forms.SplitDateTimeField(
        required=False, label=gettext_lazy("Run once at"), widget=widgets.AdminSplitDateTime
    )
    solar_event = forms.ChoiceField(
        choices=[("", "---------"), *SOLAR_SCHEDULES],
        required=False,
        label=gettext_lazy("Solar event"),
    )
    solar_latitude = forms.DecimalField(
        required=False, max_digits=9, decimal_places=6, label=gettext_lazy("Latitude")
    )
    solar_longitude = forms.DecimalField(
        required=False, max_digits=9, decimal_places=6, label=gettext_lazy("Longitude")
    )
    queue = forms.ChoiceField(choices=_queue_choices, required=False)
    args = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        initial="[]",
        help_text=gettext_lazy("JSON list, e.g. [24]"),
    )
    kwargs = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        initial="{}",
        help_text=gettext_lazy('JSON object, e.g. {"fmt": "csv"}'),
    )

    class Meta:
        model = PeriodicTask
        fields = ["name", "enabled", "description", "queue", "args", "kwargs"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["crontab_timezone"].initial = settings.TIME_ZONE
        if "name" in self.fields:  # absent for a user who may only view the schedule
            self.fields["name"].help_text = _(
                'A unique name for this schedule, e.g. "nightly report"; results are filed '
                "under it."
            )
        task = self.instance
        if task.pk:
            self.initial["job"] = task.task
            for kind in SCHEDULE_KINDS:
                row = getattr(task, kind)
                if row is None:
                    continue
                self.initial["schedule_type"] = kind
                for name in {
                    "interval": ("every", "period"),
                    "crontab": (*CRON_FIELDS, "timezone"),
                    "clocked": ("clocked_time",),
                    "solar": ("event", "latitude", "longitude"),
                }[kind]:
                    value = getattr(row, name)
                    self.initial[f"{kind}_{name}"] = str(value) if name == "timezone" else value
        self.service_data: dict[str, Any] = {}

    def _schedule_spec(self, kind: str) -> dict[str, Any]:
        data = self.cleaned_data
        if kind == "interval":
            return {"every": data.get("interval_every"), "period": data.get("interval_period")}
        if kind == "crontab":
            spec = {name: data.get(f"crontab_{name}") for name in CRON_FIELDS}
            return {**spec, "timezone": data.get("crontab_timezone")}
        if kind == "clocked":
            return {"clocked_time": data.get("clocked_clocked_time")}
        return {
            "event": data.get("solar_event"),
            "latitude": data.get("solar_latitude"),
            "longitude": data.get("solar_longitude"),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("schedule_type") or "interval"
        self.service_data = {
            "name": data.get("name"),
            "job": data.get("job"),
            "args": data.get("args") or "[]",
            "kwargs": data.get("kwargs") or "{}",
            "queue": data.get("queue") or None,
            "enabled": data.get("enabled", True),
            "description": data.get("description", ""),
            kind: self._schedule_spec(kind),
        }
        if self.errors:
            return data
        try:
            spec_clean(data=self.service_data, instance=self.instance if self.instance.pk else None)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                field = _form_field(key)
                self.add_error(field if field in self.fields else None, messages)
        return data

    def validate_unique(self) -> None:
        """Leave uniqueness to the service (PeriodicTask's own check needs a schedule set)."""


class RunNowForm(forms.Form):
    """Arguments for one run now; prefilled with the schedule's stored arguments."""

    args = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), initial="[]")
    kwargs = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), initial="{}")

    def __init__(self, *args: Any, task: PeriodicTask, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.task = task
        self.fields["args"].initial = task.args or "[]"
        self.fields["kwargs"].initial = task.kwargs or "{}"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        try:
            spec_clean(data={"args": data["args"], "kwargs": data["kwargs"]}, instance=self.task)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                self.add_error(key if key in self.fields else None, messages)
            return data
        data["args"], data["kwargs"] = json.loads(data["args"]), json.loads(data["kwargs"])
        return data


class PauseForm(forms.Form):
    """Pause until a given time (empty: until someone resumes it)."""

    until = forms.SplitDateTimeField(
        required=False,
        widget=widgets.AdminSplitDateTime,
        help_text=gettext_lazy("Leave empty to pause until resumed by hand."),
    )
