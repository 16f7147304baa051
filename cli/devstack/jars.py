"""Apache Kafka's jars from Maven Central (fetched once with `mvn`, cached) and Java to run them.

Two sets, one pom each: the broker's (infra/kafka) and MirrorMaker 2's (infra/mirrormaker, for
the regions stack), cached side by side as `<jars dir>/<version>` and
`<jars dir>/<version>-mirrormaker`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from cli.devstack.errors import DevstackError
from settings import Settings

INFRA = Path(__file__).resolve().parents[2] / "infra"
POM = INFRA / "kafka" / "pom.xml"
MIRRORMAKER_POM = INFRA / "mirrormaker" / "pom.xml"
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


def mirrormaker_jars_dir(settings: Settings) -> Path:
    return jars_dir(settings).with_name(f"{settings.kafka_version}-mirrormaker")


def fetch_jars(settings: Settings) -> Path:
    """Download the broker's jars with Maven once; later starts reuse the cache."""
    return _fetch(settings, POM, jars_dir(settings), "Kafka")


def fetch_mirrormaker_jars(settings: Settings) -> Path:
    """Download MirrorMaker 2 and the Connect runtime once; later starts reuse the cache."""
    return _fetch(settings, MIRRORMAKER_POM, mirrormaker_jars_dir(settings), "MirrorMaker 2")


def _fetch(settings: Settings, pom: Path, libs: Path, what: str) -> Path:
    if (libs / ".complete").exists():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise DevstackError(
            f"mvn not found on PATH: it fetches the {what} jars once (apt-get install maven)"
        )
    libs.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
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
        raise DevstackError(
            f"mvn could not fetch {what} {settings.kafka_version}: "
            + _mvn_error(result.stdout + result.stderr)
        )
    (libs / ".complete").write_text(settings.kafka_version + "\n")
    return libs


def _mvn_error(output: str) -> str:
    """The most telling line of Maven's output (-q prints only errors, some of them empty)."""
    errors = [
        line.replace("[ERROR]", "").strip() for line in output.splitlines() if "[ERROR]" in line
    ]
    return max(errors, key=len, default="") or (output.strip().splitlines() or ["no output"])[-1]


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
