"""Detached child processes tracked by pid files, and the small waits around them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cli.devstack.errors import DevstackError

STOP_GRACE_S = 30.0
POLL_INTERVAL_S = 0.2


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll `check` until it holds; return the seconds it took or raise after `timeout_s`."""
    started = time.monotonic()
    while True:
        if check():
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise DevstackError(f"{what} was not ready after {timeout_s:.0f} s")
        time.sleep(POLL_INTERVAL_S)


@dataclass
class ManagedProcess:
    """A long-running child we started, remembered by `pid_file`.

    `marker` is a string that must appear in the process's command line for us to believe the
    pid is still ours: pids are recycled, and `down` must never kill somebody else's process.
    """

    name: str
    pid_file: Path
    log_file: Path
    marker: str
    _child: subprocess.Popen[bytes] | None = None

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if self._is_ours(pid) else None

    def _is_ours(self, pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            state = Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False
        return state != "Z" and self.marker.encode() in cmdline

    def start(self, argv: Sequence[str], cwd: Path) -> int:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            # A new session: the service outlives this command and ignores its Ctrl-C.
            child = subprocess.Popen(
                list(argv),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{child.pid}\n")
        self._child = child
        return child.pid

    def exited_early(self) -> bool:
        """True once the process we started has died (used to stop waiting for readiness).

        Asks the child handle, not the pid file: between fork and exec the command line does
        not show the marker yet, and the child must not be taken for dead then.
        """
        if self._child is not None:
            return self._child.poll() is not None
        return self.pid() is None

    def stop(self) -> bool:
        """SIGTERM, then SIGKILL after a grace period. Returns whether anything was stopped."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while self._is_ours(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(POLL_INTERVAL_S)
        if self._is_ours(pid):
            os.kill(pid, signal.SIGKILL)
            while self._is_ours(pid):
                _reap(pid)
                time.sleep(POLL_INTERVAL_S)
        self.pid_file.unlink(missing_ok=True)
        return True

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])


def _reap(pid: int) -> None:
    # When the service is our own child (tests start and stop in one process), collect it so
    # it does not linger as a zombie that still looks alive.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
