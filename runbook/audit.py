"""The audit log: one JSON line per step outcome in `<state_dir>/audit.jsonl`.

Each line: time, operator, plan, node, step, argv (or file operation), exit code,
duration and the sha256 of the step's output, so the log proves what ran without
holding secrets or megabytes of output.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

AUDIT_FILE = "audit.jsonl"


def operator_name(env: Mapping[str, str] | None = None) -> str:
    """The human behind the command, the one identity the CLI, the TUI and the audit log
    record: the sudo caller ($SUDO_USER), else the login name, else the uid. Under
    `sudo blackstart` that is the person, never "root"."""
    e = os.environ if env is None else env
    for var in ("SUDO_USER", "LOGNAME", "USER"):
        if e.get(var):
            return e[var]
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid{os.getuid()}"


def audit_path(state_dir: str) -> Path:
    return Path(state_dir) / AUDIT_FILE


def audit_record(
    *, operator: str, plan_id: str, action: str, node: str, step: str, op: str,
    command: list[str] | str, exit_code: int | None, duration: float, output: bytes,
    status: str, error: str | None = None, now: float | None = None,
) -> dict[str, Any]:
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now or time.time())),
        "operator": operator, "plan": plan_id, "action": action, "node": node,
        "step": step, "op": op, "argv": command, "exit_code": exit_code,
        "duration": round(duration, 3), "output_sha256": hashlib.sha256(output).hexdigest(),
        "status": status, "error": error,
    }


def append(state_dir: str, record: dict[str, Any]) -> None:
    """Append one line and fsync: an audit line that a crash can eat is no audit."""
    from blackstart.runbook.safe_files import state_subdir

    state_subdir(state_dir)
    path = audit_path(state_dir)
    # O_NOFOLLOW: a symlink planted as audit.jsonl is refused, not appended through
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600)
    try:
        os.write(fd, (json.dumps(record, sort_keys=True) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_audit(state_dir: str) -> list[dict[str, Any]]:
    path = audit_path(state_dir)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
