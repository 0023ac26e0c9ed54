"""The layering rules of README → Architecture, checked rather than described.

import-linter reads its contracts from pyproject.toml ([tool.importlinter]); SQL lives only in storage/.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SQL_RE = re.compile(
    r"^\s*(SELECT\b.*\bFROM\b|INSERT\s+(OR\s+\w+\s+)?INTO\b|UPDATE\s+\w+\s+SET\b|DELETE\s+FROM\b|"
    r"CREATE\s+(TABLE|INDEX|TRIGGER|VIRTUAL)\b|DROP\s+\w+|ALTER\s+TABLE\b|PRAGMA\s+\w+|BEGIN(\s+IMMEDIATE)?\s*$)",
    re.I | re.S,
)
DB_CALLS = {"execute", "executemany", "executescript", "execute_fetchall"}


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def sql_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_RE.match(node.value):
            found.append((node.lineno, node.value.strip().splitlines()[0]))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DB_CALLS:
            found.append((node.lineno, f".{node.func.attr}(…)"))
    return found


def test_sql_scan_finds_sql() -> None:
    # The scan itself must be able to fail: it sees the statements storage/ is made of.
    assert sql_literals(ROOT / "storage" / "deliveries.py")


def test_sql_only_in_storage() -> None:
    offenders = []
    for folder in ("bot", "handlers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            offenders += [f"{path.relative_to(ROOT)}:{line}: {text}" for line, text in sql_literals(path)]
    assert not offenders, "SQL outside storage/:\n" + "\n".join(offenders)


def test_classifier_functions_are_grade_d_or_better() -> None:
    # radon grades E (31-40) and F (41+) would show here; the classifier's rules stay in small phases.
    radon = Path(sys.executable).with_name("radon")
    result = subprocess.run(
        [str(radon), "cc", "-n", "E", "-s", "bot/classify"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", result.stdout
