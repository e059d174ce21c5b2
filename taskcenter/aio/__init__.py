"""The AnyIO runtime: lightweight concurrent work inside the current process.

`manager.TaskManager` runs coroutines and offloaded functions under capacity limits, with
timeouts, cancellation and per-task status; `manager.gather_limited` fans out a list of
calls with a concurrency limit. `@aio_job` jobs (`taskcenter.catalog`) run here.
"""
