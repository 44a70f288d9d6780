"""Resume and rollback after SIGKILL on the production-shaped (kubeadm) lab: `restore
--yes` run inside master01 (zero configuration, master02/master03 over SSH) is SIGKILLed
once a middle step of its plan is journaled done (tests/runbook/faulty_cli.py), as a
lost terminal or an OOM kill would end it. Then `resume` finishes the restore, or
`rollback` puts every node's old data back; either way 3/3 healthy, equal hashkv, and the
keys say which of the two happened. The journal and audit log (in master01's
/var/lib/blackstart) agree on what was done. One sampled boundary (the middle one):
tests/runbook/test_kill_matrix_lab.py covers every boundary on the flat lab."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from killmatrix import boundaries
from rbhelpers import (
    FAULTY_CLI,
    hashkvs_agreeing,
    healthy_count,
    keys,
    need_debian_etcdctl,
    put_keys,
)

pytestmark = [pytest.mark.lab, pytest.mark.kubeadm, pytest.mark.timeout(900)]

FORCE = ("--force", "test: killed mid-restore")


def _on_master01(lab: Any, *args: str, timeout: float = 600
                 ) -> subprocess.CompletedProcess[str]:
    return lab.node_run("master01", ["blackstart", *args], timeout=timeout)


def _ok(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-3000:]
    return r.stdout


def _state(lab: Any) -> Path:
    return Path(lab.node("master01").root) / "var/lib/blackstart"


def _journals(lab: Any) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((_state(lab) / "journal").glob("*.json"))]


def _audit(lab: Any, plan_id: str) -> list[dict[str, Any]]:
    lines = (_state(lab) / "audit.jsonl").read_text().splitlines()
    return [a for a in map(json.loads, filter(None, lines)) if a["plan"] == plan_id]


def _middle(lab: Any, snap: str) -> tuple[int, list[str]]:
    out = _ok(_on_master01(lab, "restore", "--snapshot", snap, *FORCE, "--dry-run", "--json"))
    steps = [s["id"] for s in json.loads(out[out.index("{"):])["plan"]["steps"]]
    sample = boundaries(len(steps) - 1)
    return sample[len(sample) // 2], steps


@pytest.mark.parametrize("then", ["resume", "rollback"])
def test_restore_sigkilled_mid_plan_then_resume_or_rollback(
        kubeadm_lab_factory: Callable[..., Any], then: str) -> None:
    need_debian_etcdctl()
    lab = kubeadm_lab_factory()
    put_keys(lab, "/t/before/", 5)
    snap = json.loads(_ok(_on_master01(lab, "snapshot", "save", "--json")))["path"]
    put_keys(lab, "/t/after/", 5)
    k, steps = _middle(lab, snap)
    r = lab.node_run("master01", [sys.executable, FAULTY_CLI, "--kill-after", str(k), "--",
                                  "restore", "--snapshot", snap, *FORCE, "--yes"], timeout=600)
    assert r.returncode == -signal.SIGKILL, (k, r.stdout[-3000:], r.stderr[-3000:])
    j = [j for j in _journals(lab) if j["plan"]["action"] == "restore"][-1]
    plan_id, killed_after = j["plan"]["id"], j["plan"]["steps"][k - 1]["id"]
    assert j["state"] == "running" and j["status"][killed_after] in ("ok", "skipped")
    done = [s for s in steps if j["status"].get(s) in ("ok", "skipped")]
    forward = [a["step"] for a in _audit(lab, plan_id) if ":" not in a["step"]
               and a["status"] in ("ok", "skipped")]
    assert sorted(forward) == sorted(done) and killed_after in forward, (forward, done)
    print(f"\nkubeadm lab: restore SIGKILLed after step {k}/{len(steps)} ({killed_after}); "
          f"then {then}")

    _ok(_on_master01(lab, then, "--yes"))
    assert healthy_count(lab) == 3
    assert len(set(hashkvs_agreeing(lab).values())) == 1
    assert len(keys(lab, "/t/before/")) == 5
    assert len(keys(lab, "/t/after/")) == (0 if then == "resume" else 5)
    final = next(j for j in _journals(lab) if j["plan"]["id"] == plan_id)
    assert final["state"] == ("done" if then == "resume" else "rolled-back"), final["status"]
    for n in ("master01", "master02", "master03"):  # the old data dir kept, never deleted
        aside = [p.name for p in (Path(lab.node(n).root) / "var/lib").iterdir()
                 if p.name.startswith("etcd") and p.name != "etcd"]
        if then == "resume":
            assert aside, f"{n}: its old data dir was not kept"
