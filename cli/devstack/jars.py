"""Apache Kafka's jars from Maven Central (fetched once with `mvn`, cached) and Java to run them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from cli.devstack.errors import DevstackError
from settings import Settings

POM = Path(__file__).resolve().parents[2] / "infra" / "kafka" / "pom.xml"
JAVA_MAJOR_MIN = 17
MVN_TIMEOUT_S = 900


def jars_dir(settings: Settings) -> Path:
    """The cache of one Kafka version's jars (shared by every stack shape and node)."""
    base = (
        Path(settings.kafka_jars_dir)
        if settings.kafka_jars_dir
        else Path(settings.devstack_dir) / "kafka" / "libs"
    )
    return base.resolve() / settings.kafka_version


def preflight(settings: Settings) -> None:
    require_java()
    if not (jars_dir(settings) / ".complete").exists() and shutil.which("mvn") is None:
        raise DevstackError(
            "mvn not found on PATH: it fetches the Kafka jars once (apt-get install maven)"
        )


def fetch_jars(settings: Settings) -> Path:
    """Download the broker's jars with Maven once; later starts reuse the cache."""
    libs = jars_dir(settings)
    if (libs / ".complete").exists():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise DevstackError(
            "mvn not found on PATH: it fetches the Kafka jars once (apt-get install maven)"
        )
    libs.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-Dkafka.version={settings.kafka_version}",
            f"-DoutputDirectory={libs}",
        ],
        capture_output=True,
        text=True,
        timeout=MVN_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stdout + result.stderr).strip().splitlines()[-1:] or ["no output"]
        raise DevstackError(f"mvn could not fetch Kafka {settings.kafka_version}: {last[0]}")
    (libs / ".complete").write_text(settings.kafka_version + "\n")
    return libs


def require_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise DevstackError(
            "java not found on PATH: the Kafka broker needs a Java 17+ runtime "
            "(apt-get install openjdk-17-jre-headless)"
        )
    probe = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)', probe.stderr + probe.stdout)
    if match is None or int(match.group(1)) < JAVA_MAJOR_MIN:
        found = match.group(1) if match else "unknown"
        raise DevstackError(f"Kafka needs Java {JAVA_MAJOR_MIN}+, found Java {found} at {java}")
    return java
