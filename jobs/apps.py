"""App config for the job definitions; importing the modules fills the job catalog."""

from importlib import import_module

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

#: Every module of job definitions. Celery's autodiscovery only looks at `tasks.py`, so
#: the modules are imported here, once, whatever process starts (web, worker, schedulers).
JOB_MODULES = (
    "jobs.reports",
    "jobs.email",
    "jobs.maintenance",
    "jobs.health",
    "jobs.schedules",
    "jobs.demo",
)


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = _("Jobs")

    def ready(self) -> None:
        for module in JOB_MODULES:
            import_module(module)
