"""The operations page: how the work of every runtime is doing, for staff."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from taskcenter.monitoring.overview import operations_overview

# (sort key, heading, numeric): the sortable columns of the jobs table.
JOB_COLUMNS = (
    ("name", gettext_lazy("job"), False),
    ("runtime", gettext_lazy("runtime"), False),
    ("runs", gettext_lazy("runs"), True),
    ("failures", gettext_lazy("failures"), True),
    ("success_rate", gettext_lazy("success"), True),
    ("p50", gettext_lazy("p50"), True),
    ("p95", gettext_lazy("p95"), True),
    ("p99", gettext_lazy("p99"), True),
    ("wait_p95", gettext_lazy("p95 queue wait"), True),
)


def operations_view(request: HttpRequest) -> HttpResponse:
    """Render the operations page over the window and sort the query string asks for."""
    sort = request.GET.get("sort", "name")
    context = {
        **admin.site.each_context(request),
        "title": _("Operations"),
        "job_columns": JOB_COLUMNS,
        **operations_overview(
            window=request.GET.get("window", ""),
            sort=sort.lstrip("-"),
            descending=sort.startswith("-"),
        ),
    }
    return TemplateResponse(request, "admin/taskcenter/operations.html", context)
