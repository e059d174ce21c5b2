"""The schedule admin's own pages: run now with other arguments, pause until, resume.

Plain functions of the `ScheduleAdmin` they serve (its permissions, site and messages),
so the admin class keeps only the list, the form and the writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django_celery_beat.models import PeriodicTask

from taskcenter.admin.forms import PauseForm, RunNowForm
from taskcenter.services import schedules as services

if TYPE_CHECKING:
    from taskcenter.admin.schedules import ScheduleAdmin


def result_link(task_id: str) -> str:
    """Link to the result list filtered on one task id."""
    url = reverse("admin:django_celery_results_taskresult_changelist") + f"?q={task_id}"
    return format_html('<a href="{}">{}</a>', url, task_id)


def run_now(model_admin: ScheduleAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    if not model_admin.has_run_permission(request):
        raise PermissionDenied
    task = get_object_or_404(PeriodicTask, pk=object_id)
    form = RunNowForm(request.POST or None, task=task)
    if request.method == "POST" and form.is_valid():
        task_id = services.schedule_run_now(
            user=request.user,
            task=task,
            args=form.cleaned_data["args"],
            kwargs=form.cleaned_data["kwargs"],
        )
        model_admin.message_user(
            request, format_html(_("Sent {} now: {}"), task.name, result_link(task_id))
        )
        return HttpResponseRedirect(
            reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
        )
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "form": form,
        "original": task,
        "title": _("Run %(name)s now") % {"name": task.name},
    }
    return TemplateResponse(request, "admin/taskcenter/periodictask/run_now.html", context)


def pause(model_admin: ScheduleAdmin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_change_permission(request):
        raise PermissionDenied
    ids = [int(x) for x in request.GET.get("ids", "").split(",") if x.isdigit()]
    tasks = list(PeriodicTask.objects.filter(pk__in=ids))
    form = PauseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            for task in tasks:
                services.schedule_pause(
                    user=request.user, task=task, until=form.cleaned_data["until"]
                )
        except ValidationError as exc:
            form.add_error("until", exc.message_dict.get("until", exc.messages))
        else:
            model_admin.message_user(
                request, _("%(count)d schedule(s) paused.") % {"count": len(tasks)}
            )
            return HttpResponseRedirect(reverse("admin:django_celery_beat_periodictask_changelist"))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "form": form,
        "tasks": tasks,
        "title": _("Pause schedules"),
    }
    return TemplateResponse(request, "admin/taskcenter/periodictask/pause.html", context)


def resume(model_admin: ScheduleAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    if request.method != "POST" or not model_admin.has_change_permission(request):
        raise PermissionDenied
    task = get_object_or_404(PeriodicTask, pk=object_id)
    services.schedule_resume(user=request.user, task=task)
    model_admin.message_user(request, _("%(name)s resumed.") % {"name": task.name})
    return HttpResponseRedirect(
        reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
    )
