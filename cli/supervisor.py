"""Runs the ledger's processes as children in the foreground, as `make run` wants.

Each child's output is echoed with its name in front; a child that dies is started again
after a growing pause (a crash loop must not spin); SIGTERM or Ctrl-C stops every child with
SIGTERM, so each one commits or aborts its open transaction before exiting. On a terminal the
names are coloured, one colour per process, and padded so the messages line up.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

RESTART_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
STABLE_AFTER_S = 60.0
STOP_TIMEOUT_S = 60.0
POLL_S = 0.5
NAME_COLOURS = ("\x1b[36m", "\x1b[35m", "\x1b[34m", "\x1b[33m", "\x1b[32m", "\x1b[96m")
RESET = "\x1b[0m"


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    # Variables of this child only (its principal's credentials on a secure stack).
    env: Mapping[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float = 0.0
    pumps: list[threading.Thread] = field(default_factory=list)
    prefix: str = ""  # what its lines start with: `[name]`, padded, maybe coloured


class Supervisor:
    def __init__(
        self,
        children: Mapping[str, Sequence[str]],
        env: Mapping[str, str],
        child_env: Mapping[str, Mapping[str, str]] | None = None,
        colour: bool = False,
    ) -> None:
        own = child_env or {}
        self.children = [Child(name, argv, own.get(name, {})) for name, argv in children.items()]
        width = max(len(name) for name in children) + 2
        for n, child in enumerate(self.children):
            label = f"[{child.name}]".ljust(width)
            paint = NAME_COLOURS[n % len(NAME_COLOURS)]
            child.prefix = f"{paint}{label}{RESET}" if colour else label
        self.env = dict(env)
        self.stopping = threading.Event()

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        signal.signal(signal.SIGINT, lambda *_: self.stopping.set())
        for child in self.children:
            self._start(child)
        while not self.stopping.wait(POLL_S):
            for child in self.children:
                self._watch(child)
        return self._stop_all()

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", *child.argv],
            env={**self.env, **child.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        child.started_at = time.monotonic()
        pump = threading.Thread(target=self._echo, args=(child,), daemon=True)
        pump.start()
        child.pumps = [pump]
        print(f"[run] started {child.name} (pid {child.process.pid})", flush=True)

    def _echo(self, child: Child) -> None:
        assert child.process is not None and child.process.stdout is not None
        for line in child.process.stdout:
            sys.stdout.write(f"{child.prefix} {line.decode(errors='replace')}")
            sys.stdout.flush()

    def _watch(self, child: Child) -> None:
        process = child.process
        if process is None or process.poll() is None:
            if process is None and time.monotonic() >= child.restart_at:
                self._start(child)
            return
        ran_s = time.monotonic() - child.started_at
        child.failures = 0 if ran_s > STABLE_AFTER_S else child.failures + 1
        pause = RESTART_BACKOFF_S[min(child.failures, len(RESTART_BACKOFF_S) - 1)]
        print(
            f"[run] {child.name} exited with {process.returncode} after {ran_s:.0f} s; "
            f"starting it again in {pause:.0f} s",
            flush=True,
        )
        child.process = None
        child.restart_at = time.monotonic() + pause

    def _stop_all(self) -> int:
        running = [c for c in self.children if c.process and c.process.poll() is None]
        for child in running:
            assert child.process is not None
            child.process.send_signal(signal.SIGTERM)
        worst = 0
        for child in running:
            assert child.process is not None
            try:
                code = child.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                child.process.kill()
                code = child.process.wait()
            if code == -signal.SIGTERM:
                code = 0  # some servers (uvicorn) re-raise the SIGTERM we sent once they are done
            for pump in child.pumps:
                pump.join(5)
            print(f"[run] {child.name} stopped ({code})", flush=True)
            worst = worst or code
        return worst
