"""The shipped alerting rules are valid, each one is unit-tested with `promtool test rules`
(Debian's prometheus package, installed by `make setup`), and the compose Prometheus loads
them. A missing promtool fails this test: it is never skipped."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[3]
PROMETHEUS = ROOT / "infra" / "prometheus"


def _promtool(*args: str) -> str:
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found: `make setup` installs Debian's prometheus package"
    run = subprocess.run(
        [promtool, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROMETHEUS / name).read_text())
    return loaded


def test_the_rules_are_valid() -> None:
    assert "SUCCESS" in _promtool("check", "rules", "alerts.yml")


def test_every_alert_fires_and_stays_quiet_as_its_tests_say() -> None:
    assert "SUCCESS" in _promtool("test", "rules", "alerts.test.yml")


def test_every_alert_has_a_test_that_expects_it_to_fire() -> None:
    alerts = {
        rule["alert"]
        for group in _load("alerts.yml")["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    firing = {
        case["alertname"]
        for test in _load("alerts.test.yml")["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    # An alert tested only for silence could be one that never fires.
    assert alerts - firing == set()


def test_the_compose_prometheus_loads_the_rules() -> None:
    assert "/etc/prometheus/alerts.yml" in _load("prometheus.yml")["rule_files"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    volumes = compose["services"]["prometheus"]["volumes"]
    assert "./infra/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in volumes
