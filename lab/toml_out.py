"""A small TOML writer for the inventory (the stdlib reads TOML but cannot write it).

Handles what blackstart.toml uses: strings, ints, bools, lists of those, inline tables,
tables and arrays of tables. JSON string escapes are valid TOML basic-string escapes.
"""

from __future__ import annotations

import json
from typing import Any


def value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def table(name: str, body: dict[str, Any], array: bool = False) -> str:
    head = f"[[{name}]]" if array else f"[{name}]"
    lines = [head] + [f"{k} = {value(v)}" for k, v in body.items() if v is not None]
    return "\n".join(lines) + "\n"


def document(tables: list[tuple[str, dict[str, Any], bool]], header: str = "") -> str:
    """tables: (name, body, is_array_of_tables) in order."""
    parts = [header] if header else []
    parts += [table(n, b, a) for n, b, a in tables]
    return "\n".join(parts)
