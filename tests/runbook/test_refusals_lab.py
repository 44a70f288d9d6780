"""Restore refuses, with the reason, before any change: a truncated snapshot, too little
disk (a free-bytes hook injected by tests/runbook/faulty_cli.py), another operator's lock.
An etcd whose stop command does nothing stops the plan before any data dir is touched."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rbhelpers import audit_lines, cli, journals

from blackstart.runbook import lock

pytestmark = pytest.mark.lab


def _untouched(lab: Any) -> None:
    for n in lab.nodes:
        siblings = [p.name for p in Path(n.spec.data_dir).parent.iterdir()]
        assert siblings == ["etcd"], siblings
        assert lab.running(n.name, "etcd") and lab.running(n.name, "kube-apiserver")


FORCE = ("--force", "test: preflight refusals")  # the lab is healthy: a reason is needed


def _good_snapshot(lab: Any) -> str:
    return str(sorted(lab.node("etcd1").backup_dir.glob("etcd-snapshot-*.db"))[-1])


def test_refusals_before_any_change(rb_lab: Any, tmp_path: Path) -> None:
    lab = rb_lab()
    good = _good_snapshot(lab)
    said = lab.break_fault("truncate-snapshot", "etcd2")
    bad = re.search(r"(\S+\.db) cut from", said).group(1)  # type: ignore[union-attr]

    r = cli(lab, "restore", "--snapshot", bad, *FORCE, "--yes",
            check=False)
    assert r.returncode == 2 and "refused, nothing was changed" in r.stderr
    assert bad in r.stderr and "failed verification" in r.stderr
    _untouched(lab)

    r = cli(lab, "restore", "--snapshot", good, *FORCE, "--yes",
            check=False,
            hooks=("--free-bytes", "1000"))
    assert r.returncode == 2 and "bytes free" in r.stderr and "etcd1" in r.stderr
    _untouched(lab)

    # another operator really holds the lock (a live process with the kernel lock)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from blackstart.runbook import lock\n"
         "lock.acquire(sys.argv[1], 'alice', '000007-restore-abc'); print('held', "
         "flush=True); time.sleep(120)", str(Path(lab.dir) / "state")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        r = cli(lab, "restore", "--snapshot", good, *FORCE, "--yes", check=False)
        assert r.returncode == 2 and "'alice'" in r.stderr and socket.gethostname() in r.stderr
    finally:
        holder.kill()
        holder.wait()
    _untouched(lab)
    assert journals(lab) == [] if (Path(lab.dir) / "state" / "journal").exists() else True

    refused = [a for a in audit_lines(lab) if a["status"] == "refused"]
    assert [a["action"] for a in refused] == ["restore"] * 3
    assert "failed verification" in refused[0]["error"] and "alice" in refused[2]["error"]

    r = cli(lab, "restore", "--snapshot", good, "--dry-run", check=False)
    assert r.returncode == 2 and "has quorum" in r.stderr  # no reason given: refused
    r = cli(lab, "restore", "--snapshot", good, *FORCE, "--dry-run")
    assert "dry run: nothing was changed" in r.stdout and "snapshot restore" in r.stdout
    _untouched(lab)


def test_an_etcd_that_does_not_stop_stops_the_plan(rb_lab: Any, tmp_path: Path) -> None:
    lab = rb_lab()
    text = lab.inventory_path.read_text()
    # etcd2's stop command does nothing: its etcd keeps running
    text = re.sub(r'(member = "etcd2"\nstart = \[.*\]\nstop = )\[.*\]', r'\1["true"]', text)
    assert 'stop = ["true"]' in text
    broken = tmp_path / "blackstart.toml"
    broken.write_text(text)
    r = cli(lab, "restore", "--snapshot", _good_snapshot(lab), "--yes", "--stop-timeout", "3",
            "--force", "test: an etcd that does not stop",
            config=str(broken), check=False)
    assert r.returncode == 1
    assert "did not stop" in r.stderr and "no data dir was touched" in r.stderr
    for n in lab.nodes:
        assert [p.name for p in Path(n.spec.data_dir).parent.iterdir()] == ["etcd"]
    assert lab.running("etcd2", "etcd")
    # rollback starts what the plan stopped
    cli(lab, "rollback", "--yes", config=str(broken))
    lab.wait_healthy(30)
    assert all(lab.running(n.name, "kube-apiserver") for n in lab.nodes)
    assert lock.held_by(str(Path(lab.dir) / "state")) is None


def test_member_db_verified_in_place_copied_from_its_node_typed_confirmation(rb_lab: Any
                                                                          ) -> None:
    lab = rb_lab()
    db = Path(lab.node("etcd3").spec.data_dir) / "member" / "snap" / "db"
    r = cli(lab, "restore", "--snapshot", f"etcd3:{db}", "--force", "test: member db",
            "--dry-run")
    # issue 11 (c)+(d): verified in place, read-only; each node's copy is made by the plan
    # from etcd3 (the member's own node) and checked against the sha256; nothing staged
    assert f"copy etcd3:{db}" in r.stdout, r.stdout[-3000:]
    assert "--skip-hash-check" in r.stdout and "etcd etcd3 is running" in r.stdout
    assert not (Path(lab.dir) / "state" / "restore").exists()
    assert not list((Path(lab.dir) / "state").glob("tmp/*"))
    _untouched(lab)
    assert _typed(lab, "prod\n").count("refused") == 1
    out = _typed(lab, "lab\n")
    assert "no active alarm" in out and "refused" not in out


def _typed(lab: Any, answer: str) -> str:
    """Run `alarm disarm` at a real terminal (a pty) and type `answer` at the prompt."""
    import os
    import pty
    import subprocess
    import sys
    import time

    main, sub = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "blackstart", "alarm", "disarm", "-c",
                             str(lab.inventory_path)], stdin=sub, stdout=sub, stderr=sub)
    os.close(sub)
    out, sent, end = b"", False, time.monotonic() + 60
    while time.monotonic() < end:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the child closed the terminal: it has exited
            break
        out += chunk
        if not sent and b"Type the cluster name" in out:
            os.write(main, answer.encode())
            sent = True
    proc.wait(30)
    os.close(main)
    return out.decode("utf-8", "replace")
