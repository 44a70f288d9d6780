"""Fault points, injected: the executor and the planner call a `Hooks` object they are
given, and the one production passes does nothing.

A test that needs a real crash at a known step, or a node that looks nearly full, passes
its own subclass (tests/runbook/faulty_cli.py runs the CLI with one). Nothing here reads
the environment: no variable set on an operator's machine can make blackstart kill itself
or skip a refusal.
"""

from __future__ import annotations

from blackstart.runbook.plan import Step


class Hooks:
    """The points a test may hook; every method of this base is a no-op."""

    def after_step(self, index: int, step: Step) -> None:
        """Called once step `index` is journaled done, before the next one starts."""
        return None

    def free_bytes(self, node: str, path: str) -> int | None:
        """Free bytes to assume at `path` on `node`; None measures them (`df`)."""
        return None


NO_HOOKS = Hooks()
