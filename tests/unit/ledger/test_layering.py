"""ledger/ is floor 1: it imports the standard library and itself, and msgspec's structs (the
representation of its values, ledger/model.py), nothing else: no encoder, no I/O."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

LEDGER = Path(__file__).resolve().parents[3] / "ledger"
VALUE_TYPES = {"msgspec", "msgspec.structs"}


def test_ledger_imports_only_stdlib_and_itself() -> None:
    offenders = []
    for path in LEDGER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if name in VALUE_TYPES:
                    continue
                if top != "ledger" and top not in sys.stdlib_module_names:
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []
