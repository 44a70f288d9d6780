"""One error family for everything the operator should read: `BlackstartError`.

Each carries what went wrong, where (a node, a file, a flag) and, when we know it, what to
do. `operator_message` is the one formatter: the CLI prints it (blackstart.cli.errors) and
the TUI notifies it, so the same refusal reads the same in both. Anything that is not a
`BlackstartError` reaching the operator is a bug; it is shown with its type so it can be
reported, never silently reworded.

The family (where each lives):
    checks:  NodeError (nodes), InventoryError (discovery), ManifestError (formats)
    runbook: PlanRefused (preflight) and LockHeld (lock), JournalError, ServiceError,
             CertError, StepFailed
    lab:     LabError, SSHError
"""

from __future__ import annotations


class BlackstartError(Exception):
    """An error meant for the operator: `what` happened, `where`, and `todo` (what to do)."""

    lead = ""  # how the operator's line starts, e.g. "refused, nothing was changed"
    exit_code = 1  # the CLI's exit status for it

    def __init__(self, what: str, *, where: str = "", todo: str = "") -> None:
        super().__init__(what)
        self.what, self.where, self.todo = what, where, todo

    def __str__(self) -> str:
        return f"{self.where}: {self.what}" if self.where else self.what


def operator_message(exc: BaseException | None) -> str:
    """The one way an error is put in front of the operator (CLI and TUI alike)."""
    if exc is None:
        return "cancelled"
    if not isinstance(exc, BlackstartError):  # a bug: say exactly what it was
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = f"{exc.lead}: {exc}" if exc.lead else str(exc)
    return f"{text}\n  what to do: {exc.todo}" if exc.todo else text
