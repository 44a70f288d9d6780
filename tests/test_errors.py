"""One error family (checks.errors.BlackstartError) and one way to show it.

The CLI (blackstart.cli.errors) and the TUI (app notifications) both print
`operator_message(exc)`; a refusal reads "refused, nothing was changed: …" in both, exits 2
from the CLI, and never shows a traceback.
"""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from blackstart.checks.discovery.inventory import InventoryError
from blackstart.checks.errors import BlackstartError, operator_message
from blackstart.checks.formats.manifests import ManifestError
from blackstart.checks.nodes import NodeError
from blackstart.cli import cli
from blackstart.cli.errors import BlackstartGroup
from blackstart.lab.errors import LabError
from blackstart.lab.sshd import SSHError
from blackstart.runbook.cert_signing import CertError
from blackstart.runbook.journal import JournalError
from blackstart.runbook.lock import LockHeld
from blackstart.runbook.preflight import PlanRefused
from blackstart.runbook.runner import StepFailed
from blackstart.runbook.services import ServiceError


@pytest.mark.parametrize("cls", [PlanRefused, LockHeld, JournalError, NodeError, InventoryError,
                                 LabError, SSHError, ManifestError, ServiceError, CertError,
                                 StepFailed])
def test_every_operator_error_shares_the_base(cls: type) -> None:
    assert issubclass(cls, BlackstartError)


def test_the_message_says_what_where_and_what_to_do() -> None:
    exc = BlackstartError("port 'abc' is not a number", where="blackstart.toml",
                          todo="write the port as digits, e.g. :2380")
    assert str(exc) == "blackstart.toml: port 'abc' is not a number"
    assert operator_message(exc) == ("blackstart.toml: port 'abc' is not a number\n"
                                     "  what to do: write the port as digits, e.g. :2380")


def test_node_errors_keep_their_node_kind_and_text() -> None:
    exc = NodeError("etcd2", "ssh root@h:22: permission denied", "auth")
    assert (exc.node, exc.kind) == ("etcd2", "auth")
    assert exc.message == "ssh root@h:22: permission denied"
    assert str(exc) == "etcd2: ssh root@h:22: permission denied"


def test_a_refusal_is_one_concept() -> None:
    exc = PlanRefused("node etcd1: only 1,000 bytes free at /var/lib")
    assert exc.reason == str(exc) and exc.exit_code == 2
    assert operator_message(exc) == ("refused, nothing was changed: "
                                     "node etcd1: only 1,000 bytes free at /var/lib")
    held = LockHeld({"user": "alice", "host": "b2", "pid": 1, "time": 0, "plan": "p"},
                    Path("/state/lock"))
    assert isinstance(held, PlanRefused) and "'alice'" in operator_message(held)


def test_a_bug_is_shown_with_its_type_never_reworded() -> None:
    assert operator_message(KeyError("etcd9")) == "KeyError: 'etcd9'"
    assert operator_message(None) == "cancelled"


def test_the_cli_prints_the_same_text_with_the_errors_exit_code() -> None:
    @click.group(cls=BlackstartGroup)
    def root() -> None:
        pass

    @root.command()
    def go() -> None:
        raise PlanRefused("another operator holds the lock", where="/state/lock")

    res = CliRunner().invoke(root, ["go"])
    assert res.exit_code == 2
    assert res.output.strip() == "Error: " + operator_message(
        PlanRefused("another operator holds the lock", where="/state/lock"))
    assert "Traceback" not in res.output


def test_no_inventory_exits_3_with_the_file_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    res = CliRunner().invoke(cli, ["check", "-c", str(missing)])
    assert res.exit_code == 3
    assert str(missing) in res.output and "no such file" in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
