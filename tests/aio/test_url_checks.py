"""The URL check job against a real local HTTP server."""

import http.server
import logging
import threading
import time
from collections.abc import Iterator

import anyio
import pytest

from jobs.health import check_configured_urls, check_urls


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/slow":
            time.sleep(2)
        self.send_response(200 if self.path in ("/ok", "/slow") else 500)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_http() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_check_urls_reports_each_url_in_order(local_http):
    urls = [f"{local_http}/ok", f"{local_http}/broken", "http://127.0.0.1:9/refused"]

    results = anyio.run(check_urls, urls)

    assert [r["url"] for r in results] == urls
    assert [r["ok"] for r in results] == [True, False, False]
    assert results[1]["status"] == 500
    assert results[2]["error"] is not None


def test_check_urls_times_out_a_slow_url(local_http):
    results = anyio.run(check_urls, [f"{local_http}/slow"], 2, 0.3)

    assert results[0]["ok"] is False


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_local_url_check_logs_each_configured_target_that_is_down(
    backend, local_http, settings, caplog
):
    settings.URL_CHECK_TARGETS = [f"{local_http}/ok", f"{local_http}/broken"]

    with caplog.at_level(logging.WARNING, logger="jobs.health"):
        results = anyio.run(check_configured_urls, backend=backend)

    assert [r["ok"] for r in results] == [True, False]
    failures = [r.getMessage() for r in caplog.records if r.name == "jobs.health"]
    assert len(failures) == 1
    assert "/broken" in failures[0]
