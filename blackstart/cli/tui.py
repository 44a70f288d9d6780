"""`blackstart tui` (and bare `blackstart`): open the cockpit on an inventory."""

from __future__ import annotations

from typing import Any

import click

from blackstart.cli import cli
from blackstart.cli.check import cluster_from_options
from blackstart.cli.options import inventory_options, tui_options


def _cluster(**kw: Any) -> Any:
    return cluster_from_options(**kw)


def _theme_names() -> list[str]:
    from textual.theme import BUILTIN_THEMES

    from blackstart.tui.theme import THEMES

    return [t.name for t in THEMES] + sorted(BUILTIN_THEMES)


@cli.command("tui")
@inventory_options
@tui_options
def tui_cmd(read_only: bool = False, theme: str | None = None, **kw: Any) -> None:
    """Open the triage cockpit (the terminal UI)."""
    if theme is not None and theme not in _theme_names():
        raise click.BadParameter(f"unknown theme {theme!r}; one of: {', '.join(_theme_names())}",
                                 param_hint="--theme")
    try:
        cluster = _cluster(**kw)
    except (OSError, ValueError, KeyError) as exc:
        raise click.ClickException(f"cannot load the inventory: {exc}") from exc
    _run(cluster, read_only or bool(getattr(cluster, "read_only", False)), theme)


def _run(cluster: Any, read_only: bool, theme: str | None) -> None:
    from blackstart.checks.probes import workers
    from blackstart.runbook.verify_cache import VerifyCache
    from blackstart.tui.app import build_app

    store = VerifyCache(cluster.state_dir, read_only=read_only)
    try:
        app = build_app(cluster, read_only=read_only, theme=theme, store=store)
        app.run()
    finally:
        workers.shutdown()
    for text in app.read_only_exports:  # read-only: the export goes to stdout, not a file
        click.echo(text, nl=False)


def open_tui(config: str, read_only: bool = False, theme: str | None = None) -> None:
    """Open the cockpit on a blackstart.toml (used by `blackstart demo`)."""
    _run(_cluster(config=config), read_only, theme)
