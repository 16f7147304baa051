"""An expected failure is one line from the `ledger` command, never a traceback."""

from __future__ import annotations

import subprocess
import sys

from settings import Settings
from tests.support.processes import ROOT, settings_env


def test_a_replay_from_a_partition_the_journal_lacks_is_one_line(topics: Settings) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "replay", "--from-offsets", "99:0"],
        cwd=ROOT,
        env=settings_env(topics),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == ["ledger: error: the journal has no partition [99]"]
