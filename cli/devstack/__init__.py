"""The local stack: a real Apache Kafka broker (KRaft, from Maven Central jars) and a real
Redis server, started on loopback by the project itself because no Docker engine is assumed.

`Stack(settings).up()` is idempotent; `down()` stops only processes whose pid files this
launcher wrote (and whose command line still names our data directory, so a recycled pid is
never killed); `status()` reports both. Failures are `DevstackError`, whose message is one
line a person can act on.
"""

from cli.devstack.errors import DevstackError
from cli.devstack.stack import ServiceStatus, Stack, StackShape

__all__ = ["DevstackError", "ServiceStatus", "Stack", "StackShape"]
