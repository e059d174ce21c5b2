"""Run web, worker, beat and the local scheduler together until Ctrl-C or SIGTERM."""

from django.core.management.base import BaseCommand

from taskcenter.processes import run_all


class Command(BaseCommand):
    help = (
        "Start the whole task center: web (gunicorn, WSGI), a Celery worker, Celery beat and the "
        "local scheduler, each line prefixed with its process name. Ctrl-C stops them all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Web bind address.")
        parser.add_argument("--port", type=int, default=8000, help="Web port.")

    def handle(self, *args, **options):
        code = run_all(host=options["host"], port=options["port"])
        if code:
            raise SystemExit(code)
