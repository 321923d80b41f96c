"""Puts tests/ on sys.path so test modules can `import helpers`; shares its fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from helpers import write  # noqa: E402,F401  (a fixture)
