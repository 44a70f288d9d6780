"""The plan's last check: a member still applying what it was sent is asked again before a
hashkv difference fails the plan (the fresh-clone run failed a finished seed recovery on
kubeadm at 'hashkv differs' once the hashes were asked all at once); a lasting difference
still fails it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from blackstart.checks.model import Cluster, Member
from blackstart.runbook import etcdapi, ops_checks
from blackstart.runbook.etcdapi import MemberHealth

CL = Cluster("c", (), tuple(Member(f"m{i}", f"n{i}", f"https://127.0.9.{i}:2379", "", "")
                            for i in (1, 2, 3)))


def _run(monkeypatch: pytest.MonkeyPatch, readings: list[dict[str, int]]) -> list[str]:
    monkeypatch.setattr(etcdapi, "cluster_health", lambda cl, *a: [
        MemberHealth(m.name, True, i + 1, 1, 100, 50) for i, m in enumerate(cl.members)])
    monkeypatch.setattr(ops_checks, "HASHKV_PAUSE", 0.0)
    calls: list[int] = []

    def hashkv(cl: Any, m: Member, rev: int, *a: Any) -> tuple[int, int, int]:
        calls.append(1)
        reading = readings[min((len(calls) - 1) // 3, len(readings) - 1)]
        return reading[m.name], 0, rev

    monkeypatch.setattr(etcdapi, "hashkv", hashkv)
    problems, _ = ops_checks.verify_cluster(SimpleNamespace(cluster=CL), 0)  # type: ignore[arg-type]
    return problems


def test_a_member_catching_up_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run(monkeypatch, [{"m1": 7, "m2": 7, "m3": 5}, {"m1": 7, "m2": 7, "m3": 7}]) == []


def test_a_lasting_difference_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    problems = _run(monkeypatch, [{"m1": 7, "m2": 7, "m3": 5}])
    assert problems and "hashkv differs between members at revision 100" in problems[0]
