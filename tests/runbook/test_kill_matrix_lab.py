"""Issue 13's fault matrix on a real lab: `restore --yes` SIGKILLed at EVERY step boundary
(BLACKSTART_KILL_MATRIX=1, `make kill-matrix`; else the first, middle and last boundary,
see killmatrix.py), each followed by `resume` in one run and by `rollback` in the other;
each trial ends 3/3 healthy with every original data dir still on disk and a journal and
audit log that tell the truth. The `certs renew` matrix is test_kill_matrix_renew_lab.py.

One lab per mode, trials in sequence (each trial starts from the healthy cluster the last
one left), so the matrix costs about one restore per trial. Its runtime is printed."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from killmatrix import boundaries, coverage, plan_steps, run_killed, timeout_mark, truthful
from rbhelpers import cli, hashkvs, healthy_count, keys, need_debian_etcdctl, put_keys

pytestmark = pytest.mark.lab

FORCE = ("--force", "fault matrix: quorum holds on purpose")
MAX_BOUNDARIES = 40  # a 3-member lab's restore has 37


def _originals(lab: Any) -> dict[str, set[str]]:
    return {n.name: {p.name for p in Path(n.spec.data_dir).parent.glob("etcd.before-restore-*")}
            for n in lab.nodes}


def _one_trial(lab: Any, k: int, mode: str) -> str:
    tag = f"/m/{mode}/{k}/"
    put_keys(lab, tag + "before/", 3)
    saved = json.loads(cli(lab, "snapshot", "save", "--json").stdout)
    put_keys(lab, tag + "after/", 3)
    before = _originals(lab)
    j = run_killed(lab, k, "restore", "restore", "--snapshot", saved["path"], "--yes", *FORCE)
    step_id, pid = j["plan"]["steps"][k - 1]["id"], j["plan"]["id"]
    if mode == "resume":
        cli(lab, "resume", "--yes")
        assert healthy_count(lab) == 3, step_id
        assert len(keys(lab, tag + "before/")) == 3 and keys(lab, tag + "after/") == []
        assert truthful(lab, pid, step_id)["state"] == "done"
    else:
        cli(lab, "rollback", "--yes")
        assert healthy_count(lab) == 3, step_id
        assert len(keys(lab, tag + "after/")) == 3  # the old data, with every later write
        assert truthful(lab, pid, step_id)["state"] == "rolled-back"
    assert len(set(hashkvs(lab).values())) == 1
    after = _originals(lab)
    for n in lab.nodes:  # no original data dir ever disappears
        assert before[n.name] <= after[n.name], (n.name, step_id)
        if mode == "resume":  # this restore's original is kept beside, by its own name
            assert len(after[n.name] - before[n.name]) == 1, (n.name, step_id)
        live = Path(n.spec.data_dir) / "member" / "snap" / "db"
        assert live.is_file(), (n.name, step_id)
    return step_id


@timeout_mark(MAX_BOUNDARIES)
@pytest.mark.parametrize("mode", ["resume", "rollback"])
def test_restore_killed_at_step_boundaries(rb_lab: Any, mode: str) -> None:
    need_debian_etcdctl()
    lab = rb_lab()
    first = json.loads(cli(lab, "snapshot", "save", "--json").stdout)["path"]
    # a saved snapshot: the shape every trial restores
    steps = plan_steps(lab, "restore", "--snapshot", first, *FORCE)
    n = len(steps) - 1  # after the last step the plan is done
    assert n <= MAX_BOUNDARIES
    t0 = time.monotonic()
    chosen = boundaries(n)
    for k in chosen:
        step_id = _one_trial(lab, k, mode)
        print(f"kill matrix restore ({mode}): boundary {k}/{n} after {step_id}: green "
              f"({time.monotonic() - t0:.0f}s)", flush=True)
    print(f"\nkill matrix restore ({mode}): {len(chosen)} of {n} boundaries "
          f"({coverage()}) of a {len(steps)}-step restore, all green, "
          f"{time.monotonic() - t0:.0f}s")
