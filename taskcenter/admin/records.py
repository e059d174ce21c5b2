"""Admin for API tokens, runs and the dead-letter store: thin, every change via a service."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from taskcenter.admin.display import NotedListMixin, timestamp
from taskcenter.admin.forms import delivery_label
from taskcenter.catalog import JobArgumentsError, UnknownJobError, get_job
from taskcenter.models import ApiToken, DeadLetter, Run
from taskcenter.selectors.runs import run_status
from taskcenter.services.dead_letters import dead_letters_discard, dead_letters_requeue
from taskcenter.services.runs import BrokerUnavailableError
from taskcenter.services.tokens import token_create, token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "user",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    fields = ["user", "name", "expires_at"]
    readonly_fields = ["prefix", "created_at", "revoked_at", "last_used_at"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        return self.fields if obj is None else [*self.fields, *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        return [] if obj is None else ["user", "name", *self.readonly_fields]

    def save_model(self, request: HttpRequest, obj: ApiToken, form, change: bool) -> None:
        if change:
            obj.save(update_fields=["expires_at"])
            return
        issued = token_create(user=obj.user, name=obj.name, expires_at=obj.expires_at)
        obj.pk, obj.prefix, obj.key_hash = (
            issued.token.pk,
            issued.token.prefix,
            issued.token.key_hash,
        )
        obj.created_at = issued.token.created_at
        messages.warning(
            request,
            _("Token for %(user)s: %(secret)s (copy it now: it is not shown again)")
            % {"user": obj.user, "secret": issued.secret},
        )

    @admin.action(description=gettext_lazy("Revoke selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = sum(token_revoke(token=token) for token in queryset)
        messages.success(request, _("%(count)d token(s) revoked.") % {"count": count})


@admin.register(Run)
class RunAdmin(NotedListMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "job",
        "runtime",
        "delivery",
        "state",
        "progress",
        "attempts",
        "user",
        "created",
    ]
    list_filter = ["runtime", "job"]
    search_fields = ["id", "job"]
    readonly_fields = [f.name for f in Run._meta.fields] + ["delivery", "state", "progress"]
    list_note = (
        gettext_lazy(
            "The runs started through the API (and requeued dead letters), with the user who "
            "started each and its progress. Every run of every job, scheduled ones "
            "included, is under {}."
        ),
        gettext_lazy("Task results"),
        "admin:django_celery_results_taskresult_changelist",
    )

    class Media:
        css = {"all": ("taskcenter/admin.css",)}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Run | None = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("created"), ordering="created_at")
    def created(self, obj: Run) -> str:
        return timestamp(obj.created_at)

    @admin.display(description=gettext_lazy("delivery"))
    def delivery(self, obj: Run) -> str:
        try:
            return delivery_label(get_job(obj.job))
        except UnknownJobError:
            return ""

    @admin.display(description=gettext_lazy("state"))
    def state(self, obj: Run) -> str:
        return run_status(run=obj).state

    @admin.display(description=gettext_lazy("progress"))
    def progress(self, obj: Run) -> str:
        percent = run_status(run=obj).percent
        return "" if percent is None else f"{percent:.0f}%"


@admin.register(DeadLetter)
class DeadLetterAdmin(NotedListMixin, admin.ModelAdmin):
    list_display = [
        "job",
        "task_id",
        "exception_type",
        "attempts",
        "first_failed",
        "last_failed",
        "status",
    ]
    list_note = (
        gettext_lazy(
            "Runs that failed for the last time, to requeue or discard; each run's "
            "attempts are under {}."
        ),
        gettext_lazy("Task results"),
        "admin:django_celery_results_taskresult_changelist",
    )

    class Media:
        css = {"all": ("taskcenter/admin.css",)}

    list_filter = ["status", "job", "exception_type"]
    search_fields = ["task_id", "job", "message"]
    readonly_fields = [f.name for f in DeadLetter._meta.fields]
    actions = ["requeue", "discard"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        """Show a dead letter without Save buttons: every field is read-only."""
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    @admin.display(description=gettext_lazy("first failed"), ordering="first_failed_at")
    def first_failed(self, obj: DeadLetter) -> str:
        return timestamp(obj.first_failed_at)

    @admin.display(description=gettext_lazy("last failed"), ordering="last_failed_at")
    def last_failed(self, obj: DeadLetter) -> str:
        return timestamp(obj.last_failed_at)

    @admin.action(description=gettext_lazy("Requeue selected dead letters"), permissions=["change"])
    def requeue(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        try:
            done = dead_letters_requeue(user=request.user, letters=queryset)
        except (PermissionDenied, UnknownJobError, JobArgumentsError) as exc:
            messages.error(request, _("Not requeued: %(reason)s") % {"reason": exc})
            return
        except BrokerUnavailableError:
            messages.error(request, _("The task broker is unreachable; try again later."))
            return
        messages.success(request, _("%(count)d dead letter(s) requeued.") % {"count": len(done)})

    @admin.action(description=gettext_lazy("Discard selected dead letters"), permissions=["delete"])
    def discard(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        count = dead_letters_discard(user=request.user, letters=queryset)
        messages.success(request, _("%(count)d dead letter(s) discarded.") % {"count": count})
