"""Admin of alerts: per-job and per-schedule rules, and the list of every alert sent."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from taskcenter.catalog import all_jobs
from taskcenter.models import Alert, AlertRule, Cause


class AlertRuleForm(forms.ModelForm):
    """Causes as checkboxes, the job from the catalog, recipients checked one by one."""

    causes = forms.MultipleChoiceField(
        choices=Cause.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every cause."),
    )
    job = forms.ChoiceField(required=False, help_text=_("Empty: every job."))

    class Meta:
        model = AlertRule
        fields = ["job", "periodic_task", "causes", "emails", "webhook", "enabled"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["job"].choices = [("", _("every job"))] + [
            (job.name, f"{job.name} ({job.runtime})") for job in all_jobs()
        ]

    def clean_emails(self) -> str:
        emails = [e.strip() for e in self.cleaned_data["emails"].split(",") if e.strip()]
        for email in emails:
            try:
                validate_email(email)
            except ValidationError as exc:
                raise ValidationError(
                    _("%(email)s is not an email address.") % {"email": email}
                ) from exc
        return ", ".join(emails)

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("job") and cleaned.get("periodic_task"):
            raise ValidationError(_("A rule is for a job or for a schedule, not both."))
        return cleaned


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    list_display = ("__str__", "periodic_task", "causes", "emails", "webhook", "enabled")
    list_filter = ("enabled", "webhook")


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Every alert sent or tried: read-only."""

    list_display = (
        "created_at",
        "kind",
        "cause",
        "subject",
        "channel",
        "count",
        "delivered",
        "error",
    )
    list_filter = ("kind", "cause", "channel", "delivered")
    search_fields = ("subject",)
    readonly_fields = [f.name for f in Alert._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Alert | None = None) -> bool:
        return False
