"""The AnyIO runtime: lightweight concurrent work inside the current process.

`manager.TaskManager` runs coroutines and offloaded functions under capacity limits, with
timeouts, cancellation and per-task status; `gather.gather_limited` fans out a list of
calls with a concurrency limit. `runtime` holds the one manager of a web process, which
runs `@aio_job` jobs triggered through the API (`taskcenter.catalog`).
"""
