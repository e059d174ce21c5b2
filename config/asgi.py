"""ASGI entry point: the web process (`uvicorn config.asgi:application`).

Django's handler rejects the `lifespan` scope; answered here, it runs this process's
AnyIO manager (`taskcenter.aio.runtime`) from startup to shutdown, so `@aio_job` runs
triggered through the API run in the process that took them and drain when it stops.
"""

import logging
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_asgi_application()

from taskcenter.aio.runtime import runtime_lifespan  # noqa: E402  (needs Django set up)

logger = logging.getLogger(__name__)


async def lifespan(receive, send) -> None:
    """Run the AnyIO runtime between `lifespan.startup` and `lifespan.shutdown`."""
    await receive()  # lifespan.startup
    try:
        async with runtime_lifespan():
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
    except Exception as exc:
        logger.exception("lifespan failed")
        await send({"type": "lifespan.startup.failed", "message": repr(exc)})
        return
    await send({"type": "lifespan.shutdown.complete"})


async def application(scope, receive, send):
    """Serve Django, answering the `lifespan` scope with the AnyIO runtime's life."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    await django_application(scope, receive, send)
