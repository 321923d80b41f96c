"""Puts tests/ on sys.path so test modules can `import helpers`; shares its fixtures."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

# CI must not find a new random counterexample on every run: there, examples are derived
# from the test, so a failure is reproducible from the log. Locally, exploration stays random.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

from helpers import write  # noqa: E402,F401  (a fixture)
