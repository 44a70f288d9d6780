"""What each step op does on a node: the one table from an op name to its handler. The
handlers live by kind (`ops_files` change a node, `ops_checks` look, `ops_waits` wait,
`ops_api` call etcd, backups in `backup_plan`); how a step is undone is `ops_undo`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from blackstart.runbook.ops_api import op_api
from blackstart.runbook.ops_checks import op_check
from blackstart.runbook.ops_files import (
    op_copy,
    op_delete,
    op_makedirs,
    op_rename,
    op_run,
    op_write,
)
from blackstart.runbook.ops_waits import op_wait
from blackstart.runbook.plan import Step
from blackstart.runbook.runner import Outcome, Runner

Handler = Callable[[Runner, Step, "str | None"], Awaitable[Outcome]]


HANDLERS: dict[str, Handler] = {
    "run": op_run, "rename": op_rename, "makedirs": op_makedirs, "copy": op_copy,
    "check": op_check, "wait": op_wait, "api": op_api, "write": op_write, "delete": op_delete,
}


def _backup_handlers() -> dict[str, Handler]:
    from blackstart.runbook.backup_plan import HANDLERS as BACKUP

    return dict(BACKUP)


HANDLERS.update(_backup_handlers())
