"""Facts written once: the etcd client factory, the known-bad etcd versions, the quorum
majority, the operator's identity. Each has one home; these tests hold the package to it
(a second copy that could drift fails here) and check what the one copy says."""

from __future__ import annotations

import ast
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from blackstart.checks.conclusions import Report, Verdict
from blackstart.checks.model import Cluster, Member, Node, majority
from blackstart.checks.probe_results import MemberState
from blackstart.checks.reasoning.diagnosis import diagnose
from blackstart.checks.severity import Severity
from blackstart.checks.versions import known_bad_version
from blackstart.runbook.audit import operator_name

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ("checks", "runbook", "tui", "lab", "blackstart", "bench")


def _sources() -> list[tuple[str, str]]:
    out = []
    for pkg in PACKAGE:
        for p in sorted((ROOT / pkg).rglob("*.py")):
            if "__pycache__" not in p.parts:
                out.append((p.relative_to(ROOT).as_posix(), p.read_text()))
    return out


def _calls(src: str, owner: str, attr: str) -> int:
    return sum(1 for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Call)
               and isinstance(n.func, ast.Attribute) and n.func.attr == attr
               and isinstance(n.func.value, ast.Name) and n.func.value.id == owner)


def test_one_etcd_client_factory() -> None:
    where = [path for path, src in _sources() if _calls(src, "etcd3", "client")]
    assert where == ["checks/etcd_client.py"]


def test_the_factory_turns_grpcs_http_proxy_off(monkeypatch: pytest.MonkeyPatch) -> None:
    # Capture what the factory hands python3-etcd3 (the real client would dial lazily).
    seen: dict[str, Any] = {}
    fake = types.ModuleType("etcd3")
    fake.client = lambda **kw: seen.update(kw) or "client"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "etcd3", fake)
    from blackstart.checks.etcd_client import etcd_client
    from blackstart.checks.model import TLSFiles

    assert etcd_client("127.0.32.1", 2379, tls=TLSFiles("c.crt", "c.key", "ca.crt")) == "client"
    assert ("grpc.enable_http_proxy", 0) in seen["grpc_options"]
    assert (seen["ca_cert"], seen["cert_cert"], seen["cert_key"]) == ("ca.crt", "c.crt", "c.key")


@pytest.mark.parametrize("v", ["3.5.0", "3.5.1", "3.5.2", "v3.5.2", "3.5.1-rc.0"])
def test_known_bad_versions_one_table(v: str) -> None:
    assert known_bad_version(v) is not None


@pytest.mark.parametrize("v", ["3.5.3", "3.4.23", "3.6.0", "", None, "garbage", "13.5.1"])
def test_other_versions_are_not_bad(v: str | None) -> None:
    assert known_bad_version(v) is None


def test_the_diagnosis_matches_versions_the_same_way() -> None:
    """A member reporting "v3.5.1" is flagged by the diagnosis as by the probe's table (the
    two used to differ: one matched exactly, one by number)."""
    members = [MemberState(name=f"e{i}", endpoint=f"http://127.0.32.{i}:2379", healthy=True,
                           version="v3.5.1", revision=10, leader=(i == 1)) for i in (1, 2, 3)]
    rep = Report(cluster="c", taken_at=0.0, verdict=Verdict(Severity.OK, ""), members=members,
                 expected_members=["e1", "e2", "e3"])
    findings, _ = diagnose(rep, 0.0)
    assert "etcd-version-known-bad" in [f.code for f in findings]


def test_the_majority_is_written_once() -> None:
    where = [path for path, src in _sources() if "// 2 + 1" in src]
    assert where == ["checks/model.py"]
    assert [majority(n) for n in range(1, 8)] == [1, 2, 2, 3, 3, 4, 4]
    cluster = Cluster(name="c", nodes=(Node("n"),), members=tuple(
        Member(f"e{i}", "n", f"http://127.0.32.{i}:2379", "", "") for i in range(5)))
    assert cluster.quorum == 3


def test_operator_is_the_sudo_caller_then_login_name() -> None:
    assert operator_name({"SUDO_USER": "alice", "USER": "root", "LOGNAME": "root"}) == "alice"
    assert operator_name({"LOGNAME": "bob", "USER": "carol"}) == "bob"
    assert operator_name({}) != ""  # the uid's name (or uidN), never empty


def test_the_tui_audits_the_same_operator_as_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUDO_USER", "alice")
    monkeypatch.setenv("USER", "root")
    monkeypatch.setenv("LOGNAME", "root")
    from blackstart.tui.app import build_app

    cluster = Cluster(name="c", nodes=(Node("n"),),
                      members=(Member("e1", "n", "http://127.0.32.1:2379", "", ""),))
    assert build_app(cluster).operator == operator_name() == "alice"
    assert not any("getpass" in src for path, src in _sources() if path.startswith("tui/"))
