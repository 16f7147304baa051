"""A free loopback port for a server a test starts in another process.

The port is free when this returns; the child binds it a moment later, so another process
could in principle take it in between. Servers started in the test's own process bind port 0
themselves instead.
"""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
