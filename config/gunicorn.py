"""gunicorn settings for the web process: `gunicorn -c config/gunicorn.py -b HOST:PORT`.

Threaded workers (gthread) serving Django over WSGI. Under ASGI (uvicorn) Django runs
every sync view on one thread per process, so concurrent API calls queue behind each
other; here each worker serves up to `threads` requests at once (bench/README.md, trigger
endpoint). Override any value with GUNICORN_CMD_ARGS, e.g. `--workers 4`.

WSGI has no lifespan: each worker runs its AnyIO manager (`taskcenter.aio.runtime`) on
an event loop thread started once the app is loaded and drained when the worker exits.
"""

wsgi_app = "config.wsgi:application"
#: One process per core of the 2-core machine the bench ran on; threads overlap the
#: waits on MySQL and Redis within a process.
workers = 2
threads = 8
#: Below run_taskcenter's 20 s grace period, so a stop never ends in SIGKILL; above
#: AIO_DRAIN_TIMEOUT (5 s), so a worker's AnyIO runs drain before the master kills it.
graceful_timeout = 10
#: One line per request on stdout, as uvicorn printed them.
accesslog = "-"
#: gthread, answering gunicorn's own errors (414, 431, malformed requests) as JSON and
#: closing a connection whose body was refused unread (taskcenter/gunicorn_worker.py).
worker_class = "taskcenter.gunicorn_worker.JsonErrorThreadWorker"


def post_worker_init(worker) -> None:
    """Start this worker's AnyIO runtime (the app, hence Django, is loaded by now)."""
    from taskcenter.aio.runtime import runtime_start

    runtime_start()


def worker_exit(server, worker) -> None:
    """Drain, then cancel, this worker's AnyIO runs, recording how each ended."""
    from taskcenter.aio.runtime import runtime_stop

    runtime_stop()
