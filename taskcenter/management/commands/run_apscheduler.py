"""Run the local scheduler (APScheduler) in this process until SIGINT or SIGTERM."""

import asyncio
import signal
from importlib import import_module

from django.core.management.base import BaseCommand

from taskcenter.local.runner import LocalRunner


class Command(BaseCommand):
    help = (
        "Run the local jobs declared with @local_job on their triggers. Any number of these "
        "processes may run: the one holding the leader lease fires the jobs, the others "
        "stand by and take over when it goes. Every run is recorded; the admin's "
        "'Local jobs' page pauses, resumes, runs now and overrides triggers."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--job",
            action="append",
            dest="jobs",
            metavar="NAME",
            help="Schedule only this job (repeatable). Default: every local job.",
        )
        parser.add_argument(
            "--include",
            action="append",
            default=[],
            metavar="MODULE",
            help="Also import this module of job definitions (repeatable).",
        )

    def handle(self, *args, **options):
        for module in options["include"]:
            import_module(module)
        runner = LocalRunner(names=options["jobs"])
        self.stdout.write(
            f"local scheduler: {len(runner.names)} job(s): {', '.join(runner.names) or '-'}"
        )
        asyncio.run(_main(runner))
        self.stdout.write("local scheduler stopped")


async def _main(runner: LocalRunner) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await runner.serve(stop)
