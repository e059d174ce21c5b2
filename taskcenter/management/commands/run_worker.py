"""Start a Celery worker for the `config` app with the launcher options operators expect."""

import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from config.celery import app


class Command(BaseCommand):
    help = (
        "Start a Celery worker (the same as `celery -A config worker`, with defaults from "
        "settings). Arguments after `--` go to `celery worker` unchanged."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "-Q",
            "--queues",
            default=",".join(settings.CELERY_WORKER_QUEUES),
            help="Comma-separated queues to consume (default: every queue declared in "
            "settings, %(default)s).",
        )
        parser.add_argument("-l", "--loglevel", default="INFO", help="Log level (default INFO).")
        parser.add_argument(
            "-P",
            "--pool",
            default=settings.CELERY_WORKER_POOL,
            choices=["prefork", "threads", "solo", "eventlet", "gevent"],
            help="Execution pool (default %(default)s).",
        )
        parser.add_argument(
            "-c",
            "--concurrency",
            type=int,
            default=settings.CELERY_WORKER_CONCURRENCY,
            help="Child processes or threads (default %(default)s).",
        )
        parser.add_argument("-f", "--logfile", default=None, help="Log to this file.")
        parser.add_argument("-n", "--hostname", default=None, help="Node name, e.g. w1@%%h.")
        parser.add_argument("extra", nargs="*", help="Extra `celery worker` arguments (after --).")

    def handle(self, *args, **options):
        sys.exit(app.worker_main(build_argv(options)))


def build_argv(options: dict) -> list[str]:
    """Translate the command's options into `celery worker` arguments."""
    argv = [
        "worker",
        f"--queues={options['queues']}",
        f"--loglevel={options['loglevel']}",
        f"--pool={options['pool']}",
        f"--concurrency={options['concurrency']}",
    ]
    if options.get("logfile"):
        argv.append(f"--logfile={options['logfile']}")
    if options.get("hostname"):
        argv.append(f"--hostname={options['hostname']}")
    return argv + list(options.get("extra") or [])
