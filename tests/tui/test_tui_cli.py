"""`blackstart tui` / bare `blackstart`: options reach the app; bad input is a clear message."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from blackstart.cli import cli
from blackstart.cli import tui as cli_tui
from screenshots import cluster as recorded_cluster


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, bool, str | None]]:
    calls: list[tuple[Any, bool, str | None]] = []
    monkeypatch.setattr(cli_tui, "_cluster", lambda **kw: recorded_cluster("seed-outage"))
    monkeypatch.setattr(cli_tui, "_run", lambda c, ro, theme: calls.append((c, ro, theme)))
    return calls


def test_bare_blackstart_opens_the_tui(opened: list[Any]) -> None:
    res = CliRunner().invoke(cli, [])
    assert res.exit_code == 0, res.output
    assert len(opened) == 1 and opened[0][0].name == "lab" and opened[0][1] is False


def test_read_only_and_theme_reach_the_app(opened: list[Any]) -> None:
    res = CliRunner().invoke(cli, ["tui", "--read-only", "--theme", "blackstart-high-contrast"])
    assert res.exit_code == 0, res.output
    assert opened[0][1:] == (True, "blackstart-high-contrast")


def test_unknown_theme_is_a_clear_error(opened: list[Any]) -> None:
    res = CliRunner().invoke(cli, ["tui", "--theme", "neon"])
    assert res.exit_code == 2 and "unknown theme 'neon'" in res.output
    assert opened == []


def test_missing_inventory_names_the_file(tmp_path: Any) -> None:
    missing = tmp_path / "nope.toml"
    res = CliRunner().invoke(cli, ["tui", "--config", str(missing)])
    assert res.exit_code != 0
    assert "nope.toml" in res.output and "Traceback" not in res.output


def test_broken_inventory_names_the_file(tmp_path: Any) -> None:
    bad = tmp_path / "blackstart.toml"
    bad.write_text("[cluster\nname = ")
    res = CliRunner().invoke(cli, ["tui", "--config", str(bad)])
    assert res.exit_code != 0
    assert "blackstart.toml" in res.output and "Traceback" not in res.output


def test_bare_blackstart_takes_the_tui_options(opened: list[Any]) -> None:
    # the README's `sudo blackstart --read-only` (issue 16: it was "No such option")
    res = CliRunner().invoke(cli, ["--read-only", "--theme", "blackstart-high-contrast"])
    assert res.exit_code == 0, res.output
    assert opened[0][1:] == (True, "blackstart-high-contrast")


def test_bare_blackstart_config_reaches_the_inventory(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []
    def cluster(**kw: Any) -> Any:
        seen.append(kw)
        return recorded_cluster("seed-outage")

    monkeypatch.setattr(cli_tui, "_cluster", cluster)
    monkeypatch.setattr(cli_tui, "_run", lambda c, ro, theme: None)
    res = CliRunner().invoke(cli, ["--config", "/etc/blackstart/x.toml"])
    assert res.exit_code == 0, res.output
    assert seen[0]["config"] == "/etc/blackstart/x.toml"


def test_group_config_is_the_default_of_the_subcommand(tmp_path: Any) -> None:
    missing = tmp_path / "group-level.toml"
    res = CliRunner().invoke(cli, ["--config", str(missing), "check"])
    assert res.exit_code == 3 and "group-level.toml" in res.output, res.output
