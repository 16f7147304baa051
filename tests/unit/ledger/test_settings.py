from __future__ import annotations

import re
from pathlib import Path

import pytest

from settings import ENV_VARS, EnvVar, Settings, SettingsError


def test_defaults_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.topics.requests == "rewards.requests"
    assert settings.topics.requests_dlq == "rewards.requests.dlq"
    assert settings.partitions == 12


# Variables whose values have a form of their own, and the company each needs.
EXAMPLES = {"LEDGER_REGIONS": "eu,us", "LEDGER_REGION": "us"}
COMPANIONS = {"LEDGER_REGION": {"LEDGER_REGIONS": "eu,us"}}


@pytest.mark.parametrize("var", ENV_VARS, ids=[var.name for var in ENV_VARS])
def test_every_variable_is_read(var: EnvVar) -> None:
    """Each variable sets its own attribute, to a value other than the default."""
    if var.name in EXAMPLES:
        raw = EXAMPLES[var.name]
    elif var.choices:
        raw = next(choice for choice in var.choices if choice != getattr(Settings(), var.attribute))
    else:
        raw = str(var.minimum + 4321) if var.kind is int else f"x-{var.name.lower()}"
    default = getattr(Settings(), var.attribute)
    environ = {**COMPANIONS.get(var.name, {}), var.name: raw}
    read = getattr(Settings.from_env(environ), var.attribute)
    assert read == var.parse(raw) and read != default


def test_the_readme_table_names_only_variables_that_exist() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    documented = set(re.findall(r"^\| `((?:LEDGER|KAFKA|REDIS|SCHEMA)_[A-Z0-9_]+)`", readme, re.M))
    assert documented - {var.name for var in ENV_VARS} == set()


def test_clients_follow_the_local_stack_ports_unless_told_otherwise() -> None:
    moved = Settings.from_env({"LEDGER_KAFKA_PORT": "19092", "LEDGER_REDIS_PORT": "16379"})
    assert moved.kafka_bootstrap_servers == "127.0.0.1:19092"
    assert moved.redis_url == "redis://127.0.0.1:16379/0"
    explicit = Settings.from_env({"LEDGER_KAFKA_PORT": "19092", "KAFKA_BOOTSTRAP_SERVERS": "k:1"})
    assert explicit.kafka_bootstrap_servers == "k:1"


def test_a_value_outside_the_choices_names_the_variable_and_the_choices() -> None:
    with pytest.raises(SettingsError, match="LEDGER_LOG_FORMAT must be one of auto, json"):
        Settings.from_env({"LEDGER_LOG_FORMAT": "yaml"})


@pytest.mark.parametrize("raw", ["twelve", "0", "-3", "1.5"])
def test_bad_integer_names_the_variable(raw: str) -> None:
    with pytest.raises(SettingsError, match="LEDGER_PARTITIONS"):
        Settings.from_env({"LEDGER_PARTITIONS": raw})


def test_kafka_security_settings_pass_through() -> None:
    settings = Settings.from_env(
        {"KAFKA_CONFIG_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_CONFIG_SASL_MECHANISM": "PLAIN"}
    )
    config = settings.kafka_config({"group.id": "g"})
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "PLAIN"
    assert config["group.id"] == "g"


def test_readme_documents_every_variable() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    missing = [var.name for var in ENV_VARS if f"`{var.name}`" not in readme]
    assert missing == []


def test_to_env_gives_a_child_process_exactly_the_same_settings() -> None:
    settings = Settings.from_env(
        {
            "LEDGER_TOPIC_PREFIX": "t1.",
            "LEDGER_PARTITIONS": "5",
            "LEDGER_INSTANCE_ID": "core-7",
            "LEDGER_CORE_METRICS_PORT": "0",
            "KAFKA_CONFIG_SECURITY_PROTOCOL": "SSL",
            "REDIS_URL": "redis://cache:6380/2",
        }
    )
    assert Settings.from_env(settings.to_env()) == settings
