"""Every command line the README shows parses as written (issue 16: `sudo blackstart
--read-only` and `blackstart --config FILE` failed with "No such option")."""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path

import click
import pytest

from blackstart.cli import cli

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_command_lines(text: str) -> list[str]:
    """`blackstart ...` lines of the README's sh blocks, without `sudo` and comments."""
    lines: list[str] = []
    for block in re.findall(r"```(?:sh|bash|console)\n(.*?)```", text, re.S):
        for raw in block.splitlines():
            line = raw.split(" #", 1)[0].strip()
            line = re.sub(r"^(sudo\s+)?(\.venv/bin/)?", "", line)
            if line.startswith("blackstart") and not line.startswith("blackstart."):
                lines.append(line)
    return lines


def parse(argv: list[str]) -> list[str]:
    """Parse argv as click would, down to the leaf command, without running anything.
    Returns the command path; raises click.UsageError on a usage error."""
    ctx = cli.make_context("blackstart", list(argv))
    path = ["blackstart"]
    cmd: click.Command = cli
    rest = _unparsed(ctx)
    while isinstance(cmd, click.Group) and rest:
        name, sub, rest = cmd.resolve_command(ctx, rest)
        assert sub is not None and name is not None
        path.append(name)
        ctx = sub.make_context(name, list(rest), parent=ctx)
        cmd, rest = sub, _unparsed(ctx)
    return path


def _unparsed(ctx: click.Context) -> list[str]:
    with warnings.catch_warnings():  # click 8.2 deprecates protected_args, 9.0 folds it
        warnings.simplefilter("ignore", DeprecationWarning)
        return [*ctx.protected_args, *ctx.args]


LINES = readme_command_lines(README.read_text())


def test_the_readme_shows_commands() -> None:
    # the extraction itself must find the documented commands, or the test below is empty
    assert any(line.startswith("blackstart --read-only") for line in LINES), LINES
    assert len(LINES) >= 10


@pytest.mark.parametrize("line", LINES)
def test_every_readme_command_parses(line: str) -> None:
    argv = shlex.split(line)[1:]
    try:
        parse(argv)
    except click.UsageError as exc:
        pytest.fail(f"README command `{line}` is a usage error: {exc.format_message()}")


def test_parse_catches_a_usage_error() -> None:
    with pytest.raises(click.UsageError):
        parse(["--no-such-flag"])
    with pytest.raises(click.UsageError):
        parse(["check", "--no-such-flag"])
