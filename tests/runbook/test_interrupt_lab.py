"""A restore killed mid-way (SIGKILL of the real CLI process), then resumed or rolled back."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest
from rbhelpers import cli, hashkvs, healthy_count, journals, keys, need_debian_etcdctl, put_keys

pytestmark = pytest.mark.lab

def _killed_restore(lab: Any, after: str) -> str:
    put_keys(lab, "/test/before/", 10)
    saved = json.loads(cli(lab, "snapshot", "save", "--json").stdout)
    put_keys(lab, "/test/after/", 10)
    lab.break_fault("power-cut")
    r = cli(lab, "restore", "--snapshot", saved["path"], "--yes",
            hooks=("--kill-after", after), check=False)
    assert r.returncode == -signal.SIGKILL, r.stdout[-3000:] + r.stderr[-2000:]
    j = [j for j in journals(lab) if j["plan"]["action"] == "restore"][-1]
    assert j["state"] == "running"
    last_ok = [s["id"] for s in j["plan"]["steps"] if j["status"].get(s["id"]) == "ok"][-1]
    assert last_ok.endswith(after)
    return str(saved["path"])


def _siblings(lab: Any, pattern: str) -> dict[str, list[Path]]:
    return {n.name: list(Path(n.spec.data_dir).parent.glob(pattern)) for n in lab.nodes}


def test_resume_finishes_an_interrupted_restore(rb_lab: Any) -> None:
    need_debian_etcdctl()
    lab = rb_lab()
    _killed_restore(lab, "aside-etcd2")  # etcd1 restored, etcd2 moved aside, etcd3 untouched
    assert healthy_count(lab) == 0
    out = cli(lab, "resume", "--yes")
    assert "resuming" in out.stdout
    assert healthy_count(lab) == 3
    assert len(set(hashkvs(lab).values())) == 1
    assert len(keys(lab, "/test/before/")) == 10 and keys(lab, "/test/after/") == []
    assert all(len(v) == 1 for v in _siblings(lab, "etcd.before-restore-*").values())
    assert journals(lab)[-1]["state"] == "done"


def test_rollback_puts_the_old_data_dirs_back(rb_lab: Any) -> None:
    need_debian_etcdctl()
    lab = rb_lab()
    _killed_restore(lab, "restore-etcd2")  # etcd1 and etcd2 restored, etcd3 untouched
    out = cli(lab, "rollback", "--yes")
    assert "rolled back" in out.stdout
    # the old data is back (it holds the writes made after the snapshot) and running again
    assert healthy_count(lab) == 3
    assert len(keys(lab, "/test/after/")) == 10
    moved = _siblings(lab, "etcd.rolled-back-*")
    assert len(moved["etcd1"]) == 1 and len(moved["etcd2"]) == 1 and moved["etcd3"] == []
    assert all(v == [] for v in _siblings(lab, "etcd.before-restore-*").values())
    for name in ("etcd1", "etcd2"):  # the restored dirs were moved aside, not deleted
        assert (moved[name][0] / "member" / "snap" / "db").is_file()
    j = [j for j in journals(lab) if j["plan"]["action"] == "restore"][-1]
    assert j["state"] == "rolled-back"
    assert all(lab.running(n.name, "kube-apiserver") for n in lab.nodes)
