"""How the CLI shows a `BlackstartError`: `checks.errors.operator_message` (the TUI's
formatter too), on stderr, with the error's own exit code, and never a traceback.

The root group is a `BlackstartGroup`; any `BlackstartError` a command lets out becomes an
`OperatorError` (a click exception), so CliRunner tests and the real command agree."""

from __future__ import annotations

from typing import Any

import click

from blackstart.checks.errors import BlackstartError, operator_message


class OperatorError(click.ClickException):
    """A BlackstartError, shown to the operator the one way."""

    def __init__(self, error: BlackstartError) -> None:
        super().__init__(operator_message(error))
        self.error = error
        # click declares exit_code on the class; each BlackstartError brings its own.
        setattr(self, "exit_code", error.exit_code)  # noqa: B010


class BlackstartGroup(click.Group):
    """A click group whose commands may raise BlackstartError (shown as OperatorError)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BlackstartError as exc:
            raise OperatorError(exc) from exc
