"""Puts tests/ on sys.path so test modules can `import helpers`; shares its fixtures."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

# CI must not find a new random counterexample on every run: there, examples are derived
# from the test, so a failure is reproducible from the log. Locally, exploration stays random.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

from helpers import write  # noqa: E402,F401  (a fixture)
from postgres_lab import own_postgres, postgres  # noqa: E402,F401  (a fixture: a throw-away PostgreSQL)

# `make check` is the fast loop: it leaves out what `make test` alone runs, by marker.
#   e2e  — everything under tests/e2e/ (the CLI as a process, tmux, real servers);
#   slow — unit suites that search a big space: every path of every flow (explore) and
#          thousands of mangled flows through the compiler (mutations).
SLOW_MODULES = frozenset({"test_explore.py", "test_mutations.py"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath))
        if "e2e" in path.parts:
            item.add_marker(pytest.mark.e2e)
        if path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
