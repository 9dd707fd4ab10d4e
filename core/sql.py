"""Running a SQL script (several statements) through Django's cursor.

The database connection binds parameters on the server (settings: server_side_binding), and
PostgreSQL accepts bound parameters for one statement at a time, so a script goes statement
by statement, each given the script's parameters (a statement ignores those it doesn't use).
"""

import re
from collections.abc import Mapping
from typing import Any

# A statement ends with a semicolon at the end of a line (scripts here are written so).
_END = re.compile(r";[ \t]*(?:\n|$)")


def statements(script: str) -> list[str]:
    return [s.strip() for s in _END.split(script) if s.strip()]


def run_script(cursor: Any, script: str, params: Mapping[str, Any] | None = None) -> None:
    for statement in statements(script):
        cursor.execute(statement, params)
