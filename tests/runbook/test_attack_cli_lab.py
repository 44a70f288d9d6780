"""Issue 13 through the real CLI on a lab: a finished restore is never rolled back by
accident, nodes down or with a changed host key are refused by name (no traceback), a full
state filesystem during `snapshot save` leaves nothing behind and says so."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rbhelpers import cli, healthy_count, journals, keys, need_debian_etcdctl, put_keys

pytestmark = pytest.mark.lab


def test_a_second_rollback_never_undoes_a_finished_restore(rb_lab: Any) -> None:
    need_debian_etcdctl()
    lab = rb_lab()
    saved = json.loads(cli(lab, "snapshot", "save", "--json").stdout)
    lab.break_fault("power-cut")
    cli(lab, "restore", "--snapshot", saved["path"], "--yes")
    put_keys(lab, "/test/after-restore/", 5)
    restore = [j for j in journals(lab) if j["plan"]["action"] == "restore"][-1]
    assert restore["state"] == "done"
    pid = restore["plan"]["id"]

    r = cli(lab, "rollback", "--yes", check=False)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "no interrupted or failed plan" in r.stderr and f"--plan {pid}" in r.stderr
    r = cli(lab, "rollback", "--plan", pid, "--yes", check=False)
    assert r.returncode == 2 and "--yes is not enough" in r.stderr
    r = cli(lab, "rollback", "--plan", pid, "--cluster-name", "not-lab", check=False)
    assert r.returncode == 2 and "typed 'not-lab'" in r.stderr
    assert len(keys(lab, "/test/after-restore/")) == 5 and healthy_count(lab) == 3
    assert "Traceback" not in r.stderr

    # on purpose, by id and name: it says what is lost, then does it, and ends healthy
    out = cli(lab, "rollback", "--plan", pid, "--cluster-name", "lab").stdout
    assert "every write made to cluster lab since" in out and "is lost" in out
    assert healthy_count(lab) == 3
    assert keys(lab, "/test/after-restore/") == []
    assert [j for j in journals(lab) if j["plan"]["id"] == pid][0]["state"] == "rolled-back"


@pytest.mark.ssh
def test_dry_runs_with_a_node_down_or_a_changed_host_key_name_the_node(rb_lab: Any,
                                                                      tmp_path: Path) -> None:
    lab = rb_lab(ssh=True)
    snap = sorted(lab.node("etcd1").backup_dir.glob("*.db"))[-1]
    from blackstart.lab import procs, sshd

    procs.stop([lab.node("etcd2").pidfile("sshd")])  # etcd2's sshd is down
    # etcd3 now presents a host key known_hosts does not have (a changed host key)
    kh = sshd.known_hosts(Path(lab.dir))
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)],
                   check=True, timeout=30)
    ip3 = lab.node("etcd3").ip
    kh.write_text("".join(
        (line.split()[0] + " " + other.with_suffix(".pub").read_text().split()[0] + " "
         + other.with_suffix(".pub").read_text().split()[1] + "\n")
        if line.startswith(f"[{ip3}]") else line + "\n"
        for line in kh.read_text().splitlines()))
    for args, node in ((["restore", "--snapshot", str(snap), "--dry-run", "--force",
                         "test: quorum holds on purpose"], "etcd"),
                       (["certs", "renew", "--member", "etcd2", "--dry-run"], "etcd2"),
                       (["certs", "renew", "--member", "etcd3", "--dry-run"], "etcd3")):
        r = cli(lab, *args, check=False, timeout=120)
        assert r.returncode == 2, (args, r.stdout[-2000:], r.stderr[-2000:])
        assert "Traceback" not in r.stderr and f"node {node}" in r.stderr, r.stderr
        assert "refused, nothing was changed" in r.stderr


def _limited(max_bytes: int) -> Any:
    def apply() -> None:  # the state filesystem "fills up" at max_bytes for this process
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return apply


def test_a_full_state_filesystem_during_snapshot_save_leaves_nothing(rb_lab: Any) -> None:
    lab = rb_lab()
    c = lab.client()
    try:  # a snapshot well over the limit below
        for i in range(64):
            c.put(f"/test/bulk/{i:03d}", "x" * 4096)
    finally:
        c.close()
    argv = [sys.executable, "-m", "blackstart", "snapshot", "save", "-c",
            str(lab.inventory_path)]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False,
                       preexec_fn=_limited(96 << 10), stdin=subprocess.DEVNULL,
                       env=dict(os.environ))
    assert r.returncode == 1, r.stdout[-2000:] + r.stderr[-2000:]
    assert "Traceback" not in r.stderr and "cannot write the snapshot" in r.stdout + r.stderr
    snaps = Path(lab.dir) / "state" / "snapshots"
    assert [p.name for p in snaps.iterdir()] == []  # no .part, no temp file
    j = [j for j in journals(lab) if j["plan"]["action"] == "snapshot-save"][-1]
    assert j["state"] == "failed"
