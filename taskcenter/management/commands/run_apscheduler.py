"""Run the local scheduler (APScheduler) in this process until SIGINT or SIGTERM."""

import asyncio
import signal

from django.core.management.base import BaseCommand

from taskcenter.local.scheduler import LocalScheduler, serve


class Command(BaseCommand):
    help = (
        "Run the local maintenance jobs declared with @local_job on their triggers. "
        "Run exactly one of these processes: APScheduler does not coordinate across processes."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--job",
            action="append",
            dest="jobs",
            metavar="NAME",
            help="Schedule only this job (repeatable). Default: every local job.",
        )

    def handle(self, *args, **options):
        scheduler = LocalScheduler()
        names = scheduler.load_catalog(options["jobs"])
        self.stdout.write(f"local scheduler: {len(names)} job(s): {', '.join(names) or '-'}")
        asyncio.run(_main(scheduler))
        self.stdout.write("local scheduler stopped")


async def _main(scheduler: LocalScheduler) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(scheduler, stop)
