"""The shipped Prometheus rules pass `promtool check rules` and name only exported metrics."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from taskcenter.monitoring.metrics import METRIC_NAMES

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"
# The suffixes Prometheus derives from a histogram's name.
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def _named_metrics() -> set[str]:
    rules = yaml.safe_load(RULES.read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    names = set()
    for expr in exprs:
        for name in re.findall(r"\btaskcenter_[a-z0-9_]+", expr):
            for suffix in HISTOGRAM_SUFFIXES:
                name = name.removesuffix(suffix)
            names.add(name)
    return names


def test_rules_pass_promtool_check():
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")

    done = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_metric_the_rules_name_is_documented():
    named = _named_metrics()

    assert named
    assert named <= set(METRIC_NAMES), named - set(METRIC_NAMES)


@pytest.mark.services
@pytest.mark.django_db
def test_every_metric_the_rules_name_is_exported(client, settings):
    settings.TASKCENTER_METRICS_PUBLIC = True

    text = client.get("/metrics").content.decode()

    exported = {family.name for family in text_string_to_metric_families(text)}
    assert _named_metrics() <= exported
