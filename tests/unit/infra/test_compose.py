"""docker-compose.yml cannot be run here (no Docker engine), so its wiring is checked by reading
it: the services exist, images are the official ones, and every project service is pointed at
the broker, Redis and registry that the file itself defines, with commands the CLI really has."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from cli.main import build_parser
from settings import ENV_VARS, Settings

ROOT = Path(__file__).parents[3]
PROJECT_SERVICES = {"topics", "core", "mirror", "auditor", "gateway"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _cli_commands() -> set[str]:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "==SUPPRESS==" and a.choices)
    return set(subparsers.choices or {})


def test_infrastructure_services_use_official_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert services["redis"]["image"].startswith("redis:")
    assert services["schema-registry"]["image"].startswith("confluentinc/cp-schema-registry:")
    kafka_env = services["kafka"]["environment"]
    assert kafka_env["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    assert kafka_env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"


def test_project_services_build_from_the_dockerfile_and_run_real_commands(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    built = {name for name, spec in services.items() if "build" in spec}
    assert built == PROJECT_SERVICES
    assert (ROOT / "Dockerfile").exists()
    commands = _cli_commands()
    for name in built:
        assert services[name]["build"] == "."
        assert services[name]["command"][0] in commands, name


def test_project_services_are_wired_to_the_stack_in_the_file(compose: dict[str, Any]) -> None:
    services = compose["services"]
    advertised = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    internal = next(x for x in advertised.split(",") if x.startswith("INTERNAL://"))
    known_vars = {var.name for var in ENV_VARS} | {"SCHEMA_REGISTRY_URL"}
    for name in PROJECT_SERVICES:
        env = services[name]["environment"]
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == internal.removeprefix("INTERNAL://")
        redis_url = urlparse(env["REDIS_URL"])
        assert redis_url.hostname in services and redis_url.port == 6379
        registry = urlparse(env["SCHEMA_REGISTRY_URL"])
        assert registry.hostname in services
        assert (
            str(registry.port)
            in services["schema-registry"]["environment"]["SCHEMA_REGISTRY_LISTENERS"]
        )
        assert set(env) <= known_vars, set(env) - known_vars
        for dependency in services[name].get("depends_on", {}):
            assert dependency in services


def test_prometheus_scrapes_every_ledger_process_and_grafana_is_provisioned(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert services["prometheus"]["image"].startswith("prom/prometheus:")
    assert services["grafana"]["image"].startswith("grafana/grafana:")
    for service in ("prometheus", "grafana"):
        for volume in services[service]["volumes"]:
            assert (ROOT / volume.split(":")[0]).exists(), volume
    scrape = yaml.safe_load((ROOT / "infra/prometheus/prometheus.yml").read_text())
    targets = {
        t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]
    }
    defaults = Settings()
    assert targets == {
        f"core:{defaults.core_metrics_port}",
        f"mirror:{defaults.mirror_metrics_port}",
        f"auditor:{defaults.auditor_metrics_port}",
        f"gateway:{defaults.gateway_metrics_port}",
    }
    assert services["core"]["environment"]["LEDGER_METRICS_HOST"] == "0.0.0.0"


def test_the_grafana_dashboard_only_queries_metrics_the_ledger_exports() -> None:
    import re

    dashboard = json.loads((ROOT / "infra/grafana/dashboards/ledger.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(ledger_[a-z_]+)", target["expr"])
    }
    assert len(queried) >= 10, "the dashboard queries the ledger's metrics"
    sources = "".join(
        path.read_text()
        for package in ("processors", "gateway")
        for path in (ROOT / package).rglob("metrics.py")
    )
    for name in queried:
        base = re.sub(r"_(total|bucket|sum|count)$", "", name)
        assert f'"{base}' in sources, name


def test_the_image_holds_every_package_the_project_installs() -> None:
    """The image installs the project from what the Dockerfile copies: a package left out
    (readmodel/ once was) makes `ledger` fail at import inside the container."""
    import re
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {
        pattern.rstrip("*")
        for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = set(re.findall(r"^COPY (\w+) \1$", (ROOT / "Dockerfile").read_text(), re.M))
    assert packages and packages <= copied, packages - copied
