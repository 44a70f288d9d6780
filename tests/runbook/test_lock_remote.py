"""The runbook lock on remote nodes (issue 13, must-have 3 "per node over SSH").

Pure: the lock script's answers, the order locks are taken in, unlock's lines. Then the
script itself, run by a real `sh` with the real flock(1) on this machine exactly as sshd
runs it on a node (the SSH session is its stdin): it excludes `runbook.lock`'s own
holders and is excluded by them, it names its holder, it dies with its stdin (what a
killed plan's dropped connection does), and a clean release clears its record."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
from pathlib import Path

import pytest
from labnet import missing

from blackstart.checks.model import Cluster, Node, SSHTarget
from blackstart.runbook import lock, lock_plan
from blackstart.runbook.lock_remote import (
    LOCK_SCRIPT,
    Answer,
    holder_line,
    lock_command,
    parse_answer,
)
from blackstart.runbook.plan import Plan, Step

RECORD = {"user": "alice", "host": "master01", "pid": 4242, "time": 1_700_000_000.0,
          "plan": "restore-0007", "token": "t0k"}


# --------------------------------------------------------------------------- pure


def test_parse_answer_every_first_line() -> None:
    assert parse_answer("locked\n") == Answer("locked")
    busy = parse_answer("busy\n", json.dumps(RECORD) + "\n")
    assert busy.state == "busy" and busy.holder == RECORD
    # taken an instant ago, its record not written yet: still a refusal, never a crash
    assert parse_answer("busy\n", "") == Answer("busy", {"plan": "?"})
    assert parse_answer("busy\n", "not json").holder == {
        "user": "?", "host": "?", "pid": None, "time": 0, "plan": "unreadable lock"}
    assert parse_answer("free\n", "") == Answer("free", None)
    assert parse_answer("free\n", json.dumps(RECORD)).holder == RECORD
    ref = parse_answer("refused: /x/lock is not a regular file; refusing to lock through it")
    assert ref.state == "refused" and ref.why.startswith("/x/lock is not a regular file")
    assert "flock(1)" in parse_answer("").why
    assert parse_answer("sh: flock: not found").state == "refused"


def test_holder_line_is_one_line_even_for_odd_names() -> None:
    odd = {**RECORD, "user": "bob\nevil\u00e9"}
    line = holder_line(odd)
    assert line.count("\n") == 1 and line.endswith("\n")
    assert json.loads(line) == odd


def test_the_command_quotes_the_path_and_keeps_the_script_constant() -> None:
    cmd = lock_command("/var/lib/black start/'; rm -rf /", "hold")
    assert cmd.startswith("sh -c ")
    assert "'/var/lib/black start/'\"'\"'; rm -rf /'" in cmd


def _cluster(local: str = "master01") -> Cluster:
    ssh = SSHTarget("127.0.72.2")
    return Cluster("c", (Node(local), Node("master02", ssh), Node("master03", ssh),
                         Node("master04", None, has_access=False)), ())


def _plan(*nodes: str) -> Plan:
    return Plan("p-1", "restore", "t", "c", "t", True,
                [Step(f"{i}-x", n, "x", "run", argv=("true",)) for i, n in enumerate(nodes)])


def test_lock_order_is_by_node_name_with_this_machine_in_its_place() -> None:
    c = _cluster()
    assert lock_plan.remote_nodes(c, _plan("master03", "master01", "master02")) == [
        "master02", "master03"]
    assert lock_plan.lock_order(c, _plan("master03", "master02")) == [
        "master01", "master02", "master03"]
    assert lock_plan.lock_order(_cluster("zz"), _plan("master03", "master02")) == [
        "master02", "master03", "zz"]
    # an S3 step, an unknown name and a node without access have no lock to take
    assert lock_plan.lock_order(c, _plan("s3:offsite", "master04", "nope")) == ["master01"]


def test_our_own_token_is_not_another_operator() -> None:
    assert lock_plan.is_ours({"token": "t0k"}, RECORD)
    assert not lock_plan.is_ours({"token": "other"}, RECORD)
    assert not lock_plan.is_ours({}, RECORD) and not lock_plan.is_ours(None, RECORD)


def test_unlock_lines_name_the_node_and_the_holder() -> None:
    sd = "/var/lib/blackstart"
    line = lock_plan.describe_cleared("master02", Answer("free", RECORD), sd)
    assert line.startswith("master02: cleared the record a dead holder left")
    assert "'master01'" in line and "pid 4242" in line and "restore-0007" in line
    assert "master02:/var/lib/blackstart/lock" in line
    assert lock_plan.describe_cleared("master02", Answer("free"), sd).endswith("free, no "
                                                                                "record left")
    live = lock_plan.describe_cleared("master03", Answer("busy", RECORD), sd)
    assert "held by a live process, not broken: user 'alice'" in live
    assert "timeout" in lock_plan.describe_cleared("m", Answer("refused", why="timeout"), sd)


def test_a_refusal_names_the_node_and_survives_a_garbage_time() -> None:
    exc = lock.LockHeld({**RECORD, "time": "NaN"}, "master02:/s/lock", node="master02")
    assert exc.reason.startswith("on node master02, another operator holds the runbook lock "
                                 "master02:/s/lock: user 'alice' on host 'master01' (pid 4242)")
    for t in (1e300, -5, None, "x", [1]):
        assert "since 1970-01-01" in lock.describe_holder({"time": t}, "/l")


# --------------------------------------------------------------------------- the script


def _need_flock() -> None:
    if shutil.which("flock") is None or shutil.which("sh") is None:
        missing("flock(1) (util-linux) and sh")


def _hold(path: Path, record: dict[str, object]) -> subprocess.Popen[str]:
    """The script as sshd runs it: its stdin is what the SSH channel would be."""
    p = subprocess.Popen(["sh", "-c", LOCK_SCRIPT, "blackstart-lock", str(path), "hold"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdin is not None and p.stdout is not None
    p.stdin.write(holder_line(record))
    p.stdin.flush()
    return p


def _answer(p: subprocess.Popen[str]) -> Answer:
    assert p.stdout is not None
    first = p.stdout.readline()
    rest = p.stdout.read() if first.strip() in ("busy", "free") else ""
    return parse_answer(first, rest)


def _run(path: Path, mode: str) -> Answer:
    r = subprocess.run(["sh", "-c", LOCK_SCRIPT, "blackstart-lock", str(path), mode],
                       input="", capture_output=True, text=True, timeout=30, check=False)
    first, _, rest = r.stdout.partition("\n")
    return parse_answer(first, rest)


def test_the_script_and_the_local_lock_exclude_each_other(tmp_path: Path) -> None:
    _need_flock()
    sd = tmp_path / "state"
    sd.mkdir(mode=0o700)
    path = sd / "lock"
    holder = _hold(path, RECORD)
    try:
        assert _answer(holder) == Answer("locked")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        # another plan on this node, through runbook.lock: refused, naming the holder
        with pytest.raises(lock.LockHeld) as exc:
            lock.acquire(str(sd), "bob", "restart-0008")
        assert "on host 'master01' (pid 4242)" in exc.value.reason
        assert "restore-0007" in exc.value.reason
        # another remote plan: refused by the script, with the same record
        assert _run(path, "hold") == Answer("busy", RECORD)
        assert _run(path, "clear") == Answer("busy", RECORD)  # unlock never breaks it
    finally:
        holder.kill()  # the session dropped: stdin gone with its process
        holder.wait(10)
    # free at once, by the kernel; the record the dead holder left is told
    got = lock.acquire(str(sd), "bob", "restart-0008")
    assert got.left_by == RECORD
    # ...and a local holder keeps the script out in turn
    try:
        ans = _run(path, "hold")
        assert ans.state == "busy" and ans.holder and ans.holder["user"] == "bob"
    finally:
        got.release()


def test_a_clean_release_clears_the_record_a_lost_session_keeps_it(tmp_path: Path) -> None:
    _need_flock()
    path = tmp_path / "lock"
    p = _hold(path, RECORD)
    assert _answer(p) == Answer("locked")
    assert p.stdin is not None and p.stdout is not None
    p.stdin.write("ping\n")  # what the plan asks before each step on the node
    p.stdin.flush()
    assert p.stdout.readline() == "pong\n"
    p.stdin.write("release\n")
    p.stdin.close()
    assert p.wait(10) == 0 and path.read_text() == ""
    p = _hold(path, RECORD)
    assert _answer(p) == Answer("locked")
    assert p.stdin is not None
    p.stdin.close()  # end of file without `release`: the connection was lost
    assert p.wait(10) == 0
    assert json.loads(path.read_text()) == RECORD
    assert _run(path, "clear") == Answer("free", RECORD)
    assert path.read_text() == "" and _run(path, "clear") == Answer("free", None)


def test_the_script_refuses_a_planted_symlink_and_a_fifo(tmp_path: Path) -> None:
    _need_flock()
    target = tmp_path / "victim"
    target.write_text("operator data")
    (tmp_path / "lock").symlink_to(target)
    ans = _run(tmp_path / "lock", "hold")
    assert ans.state == "refused" and "not a regular file" in ans.why
    assert target.read_text() == "operator data"
    os.mkfifo(tmp_path / "fifo")
    assert _run(tmp_path / "fifo", "hold").state == "refused"


def test_a_killed_holder_script_frees_the_lock(tmp_path: Path) -> None:
    """SIGKILL of the node-side process itself (not only of its stdin's writer)."""
    _need_flock()
    p = _hold(tmp_path / "lock", RECORD)
    assert _answer(p) == Answer("locked")
    os.kill(p.pid, signal.SIGKILL)
    p.wait(10)
    lock.acquire(str(tmp_path), "bob", "x").release()
