"""What the PostgreSQL stores share: psycopg imported on demand, and the schema names they accept."""

from __future__ import annotations

import re
from typing import Any

# An unquoted PostgreSQL identifier: the schema is put into SQL text, never taken as data.
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def import_psycopg(error: type[Exception], what: str) -> Any:
    """psycopg, or `error` saying that `what` needs the postgres extra."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - depends on the extra
        raise error(f"{what} needs psycopg: pip install 'ivrflow[postgres]'") from None
    return psycopg
