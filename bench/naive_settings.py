"""Settings serving bench/naive_api.py beside the real API (bench/trigger_api.py only)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.naive_urls"
