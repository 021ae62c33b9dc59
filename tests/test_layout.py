"""Test modules have unique file names: pytest imports them by basename (rootdir mode)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_test_module_names_are_unique() -> None:
    names = Counter(p.name for p in TESTS.rglob("*.py") if p.name not in ("__init__.py", "conftest.py"))
    assert [name for name, count in names.items() if count > 1] == []
