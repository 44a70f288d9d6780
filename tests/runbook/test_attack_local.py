"""Issue 13 defects that need no etcd: journals, rollback choice and order, the audit's
undo lines, inventory preflight, the CA check, the free-space sum."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blackstart.checks.model import CertSpec, Cluster, Member, Node, Service, SSHTarget
from blackstart.checks.requests import Renew, Restore, SourceRef
from blackstart.runbook import cert_signing, journal, ops, ops_undo
from blackstart.runbook.audit import read_audit
from blackstart.runbook.executor import execute, rollback
from blackstart.runbook.plan import Plan, Step
from blackstart.runbook.planner import PlanRefused, aplan_for
from blackstart.runbook.preflight import inventory_problems
from blackstart.runbook.restore_space import restore_space_needed
from blackstart.runbook.runner import Outcome


def _plan(pid: str, destructive: bool = True, steps: list[Step] | None = None) -> Plan:
    return Plan(pid, "restore", "t", "c", "x", destructive,
                steps or [Step("01-a", "n1", "a", "run", argv=("true",))])


def test_journal_numbers_ignore_a_clock_that_went_back(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    sd = str(tmp_path)
    clock = iter([2_000_000_000.0, 1_000_000_000.0, 500_000_000.0] * 10)
    monkeypatch.setattr(time, "time", lambda: next(clock))
    ids = ["zzz-late", "mmm-mid", "aaa-early"]  # ids that sort backwards, as clocks can
    for pid in ids:
        journal.open_journal(sd, _plan(pid), "op").finish("failed")
    got = [j.plan.id for j in journal.all_journals(sd)]
    assert got == ids and [j.seq for j in journal.all_journals(sd)] == [1, 2, 3]
    (tmp_path / "journal" / "seq").unlink()  # a lost counter never makes numbers repeat
    assert journal.next_seq(sd) == 4


def test_rollback_without_plan_never_picks_a_done_plan(tmp_path: Path) -> None:
    sd = str(tmp_path)
    journal.open_journal(sd, _plan("first"), "op").finish("done")
    with pytest.raises(journal.JournalError, match="--plan first"):
        journal.rollback_candidate(sd)
    journal.open_journal(sd, _plan("second"), "op").finish("rolled-back")
    with pytest.raises(journal.JournalError, match="no interrupted or failed plan"):
        journal.rollback_candidate(sd)
    journal.open_journal(sd, _plan("third"), "op")  # killed: still "running"
    assert journal.rollback_candidate(sd).plan.id == "third"
    journal.open_journal(sd, _plan("fourth"), "op").finish("done")
    with pytest.raises(journal.JournalError, match="followed by the finished plan fourth"):
        journal.rollback_candidate(sd)
    # a snapshot save finishing later does not hide the interrupted restore
    journal.open_journal(sd, _plan("save", destructive=False), "op").finish("done")
    assert journal.find_journal(sd, "third").state == "running"


@pytest.mark.parametrize("bad", [
    [], "x", {"plan": []}, {"plan": {"steps": "no"}}, {"plan": {"steps": [1]}},
    {"plan": {"id": "p", "steps": [{"id": 1}]}}, {"status": [], "plan": {"steps": []}},
    {"plan": {"id": "p", "action": "a", "title": "t", "cluster": "c", "target": "x",
              "destructive": True, "steps": []}, "undone": 5},
    {"plan": {"id": "p", "action": "a", "title": "t", "cluster": "c", "target": "x",
              "destructive": True, "steps": []}, "seq": "one"},
])
def test_a_journal_of_the_wrong_shape_is_one_clear_error(tmp_path: Path, bad: object) -> None:
    p = tmp_path / "journal" / "000001-p.json"
    p.parent.mkdir()
    p.write_text(json.dumps(bad))
    with pytest.raises(journal.JournalError, match=str(p)):
        journal.load_journal(p)
    p.write_text('[' * 100_000)
    with pytest.raises(journal.JournalError):
        journal.load_journal(p)


def _cluster(tmp_path: Path, **kw: object) -> Cluster:
    m = Member("e1", "n1", "https://127.0.0.1:2379", "https://127.0.0.1:2380",
               str(tmp_path / "var/lib/etcd"))
    c = Cluster("t", (Node("n1"),), (m,), state_dir=str(tmp_path / "state"))
    return dataclasses.replace(c, **kw)


def test_inventory_preflight_names_each_bad_field(tmp_path: Path) -> None:
    c = _cluster(tmp_path)
    bad_m = dataclasses.replace(c.members[0], peer_url="https://127.0.0.1:abc", data_dir="/")
    bad = dataclasses.replace(
        c, members=(bad_m,), state_dir="state",
        nodes=(Node("n1", ssh=SSHTarget("127.0.0.1", port=70000)),),
        services=(Service("n9", "kube-apiserver", "command", start=("x",), stop=("y",)),))
    problems = "\n".join(inventory_problems(bad))
    assert "members[0] (e1).peer_url = 'https://127.0.0.1:abc'" in problems
    assert "data_dir = '/'" in problems and "ssh.port = 70000" in problems
    assert "services[0] (kube-apiserver).node = 'n9'" in problems
    assert "state_dir = 'state'" in problems
    assert inventory_problems(c) == []


async def test_a_plan_with_a_bad_url_or_an_unknown_node_is_refused_up_front(tmp_path: Path
                                                                           ) -> None:
    c = _cluster(tmp_path)
    svc = Service("n9", "kube-apiserver", "command", start=("true",), stop=("true",))
    for bad in (dataclasses.replace(c, members=(dataclasses.replace(
            c.members[0], peer_url="https://127.0.0.1:abc"),)),
                dataclasses.replace(c, services=(svc,))):
        with pytest.raises(PlanRefused, match="problems a plan would hit"):
            await aplan_for(Restore(SourceRef("n1", "/nonexistent")), bad, None,
                            operator="t")
    assert not (tmp_path / "var").exists()


def test_ca_pair_checked_before_anything_moves() -> None:
    from blackstart.lab import pki as labpki

    ca, other = labpki.make_ca(), labpki.make_ca()
    key = labpki.new_key()
    from cryptography.x509.oid import ExtendedKeyUsageOID

    leaf = labpki.cert_pem(labpki.issue(ca, key, labpki._name("e1"),
                                        [ExtendedKeyUsageOID.SERVER_AUTH]))
    ca_pem, ca_key = labpki.cert_pem(ca.cert), labpki.key_pem(ca.key)
    cert_signing.check_ca_pair(ca_pem, ca_key, leaf, time.time())
    with pytest.raises(cert_signing.CertError, match="not an unencrypted PEM private key"):
        cert_signing.check_ca_pair(ca_pem, b"garbage", leaf, time.time())
    with pytest.raises(cert_signing.CertError, match="public keys differ"):
        cert_signing.check_ca_pair(ca_pem, labpki.key_pem(other.key), leaf, time.time())
    with pytest.raises(cert_signing.CertError, match="does not verify"):
        cert_signing.renew(leaf, ca_pem, labpki.key_pem(other.key), time.time())


def test_free_space_counts_wal_preallocation_and_margin() -> None:
    assert restore_space_needed(10 << 20, 1) == 2 * (10 << 20) + (128 << 20) + (64 << 20)
    assert restore_space_needed(0, 3) == 3 * (128 << 20) + (64 << 20)


def _pki(d: Path) -> None:
    from cryptography.x509.oid import ExtendedKeyUsageOID

    from blackstart.lab import pki as labpki

    ca = labpki.make_ca()
    labpki.write_pair(d / "ca", ca.cert, ca.key)
    key = labpki.new_key()
    labpki.write_pair(d / "server", labpki.issue(ca, key, labpki._name("e1"),
                                                 [ExtendedKeyUsageOID.SERVER_AUTH]), key)


async def test_renew_rollback_puts_files_back_before_starting_and_audits_real_argv(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pki = tmp_path / "pki"
    _pki(pki)
    log = tmp_path / "service.log"
    crt = pki / "server.crt"
    original = hashlib.sha256(crt.read_bytes()).hexdigest()

    def cmd(verb: str) -> tuple[str, ...]:
        # the "service" logs the verb and the sha256 of the cert it would load
        return ("sh", "-c", f"echo {verb} $(sha256sum {crt} 2>/dev/null | cut -c1-64) >> {log}")

    svc = Service("n1", "etcd", "command", start=cmd("start"), stop=cmd("stop"), member="e1")
    spec = CertSpec("n1", "etcd-server", str(crt), str(pki / "server.key"),
                    str(pki / "ca.crt"), "e1")
    cl = _cluster(tmp_path, services=(svc,), certificates=(spec,))
    plan = await aplan_for(Renew("", "", member="e1"), cl, None, operator="t")
    upto = next(i for i, s in enumerate(plan.steps) if s.id.endswith("start-etcd"))
    plan.steps = plan.steps[: upto + 1]  # done through the start (the wait would need etcd)
    res = await execute(plan, cl, operator="t")
    assert res.ok, res.error
    assert hashlib.sha256(crt.read_bytes()).hexdigest() != original
    log.write_text("")
    monkeypatch.setattr(ops_undo, "ROLLBACK_HEALTH_TIMEOUT", 1.0)
    j = journal.find_journal(cl.state_dir, plan.id)
    out = await rollback(j, cl, operator="t")
    lines = log.read_text().split()
    # stop (undo of the start) first, and the start comes only once the old cert is back
    assert lines == ["stop", lines[1], "start", original], lines
    # no etcd answers here: never "rolled back", the journal says degraded
    assert not out.ok and "not healthy" in (out.error or "")
    assert journal.find_journal(cl.state_dir, plan.id).state == "rollback-degraded"
    undo = {a["step"]: a["argv"] for a in read_audit(cl.state_dir)
            if a["step"].startswith("undo:")}
    start_step = next(s for s in plan.steps if s.id.endswith("start-etcd"))
    assert undo[f"undo:{start_step.id}"] == list(svc.stop)  # the real argv of the undo
    assert any(v.startswith("mv ") for v in undo.values() if isinstance(v, str))


async def test_a_crashing_step_gets_an_audit_line_and_the_journal_says_failed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def boom(*a: object) -> Outcome:
        raise ZeroDivisionError("bug")

    monkeypatch.setitem(ops.HANDLERS, "check", boom)
    cl = _cluster(tmp_path)
    plan = _plan("p-crash", steps=[Step("01-c", "n1", "c", "check", args={"kind": "x"})])
    res = await execute(plan, cl, operator="t")
    assert not res.ok and "ZeroDivisionError" in (res.error or "")
    assert [(a["step"], a["status"]) for a in read_audit(cl.state_dir)] == [
        ("01-c", "crashed")]
    assert journal.find_journal(cl.state_dir, "p-crash").state == "failed"


async def test_a_step_killed_while_running_is_noted_as_a_crash_on_resume(tmp_path: Path
                                                                         ) -> None:
    cl = _cluster(tmp_path)
    plan = _plan("p-k", steps=[Step("01-a", "n1", "a", "run", argv=("true",)),
                               Step("02-b", "n1", "b", "run", argv=("true",))])
    j = journal.open_journal(cl.state_dir, plan, "op")
    j.set("01-a", "ok")
    j.set("02-b", "running")  # what a SIGKILL in step 2 leaves
    res = await execute(plan, cl, operator="t", journal=journal.find_journal(cl.state_dir,
                                                                            "p-k"))
    assert res.ok
    steps = [(a["step"], a["status"]) for a in read_audit(cl.state_dir)]
    assert steps == [("crash:02-b", "crashed"), ("02-b", "ok")]


def _cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "blackstart", *args], capture_output=True,
                          text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)


def test_a_fifo_as_config_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "blackstart.toml"
    os.mkfifo(fifo)
    r = _cli("check", "-c", str(fifo), timeout=60)  # the old open() blocked forever here
    assert r.returncode != 0 and "not a regular file" in r.stderr, r.stderr
    assert str(fifo) in r.stderr and "Traceback" not in r.stderr


def test_a_deeply_nested_toml_is_one_message(tmp_path: Path) -> None:
    p = tmp_path / "deep.toml"
    p.write_text("x = " + "[" * 50_000 + "]" * 50_000 + "\n")
    r = _cli("check", "-c", str(p))
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert str(p) in r.stderr


def test_ssh_port_out_of_range_is_refused_naming_the_file(tmp_path: Path) -> None:
    p = tmp_path / "b.toml"
    p.write_text('[cluster]\nname = "c"\nstate_dir = "/tmp/x"\n'
                 '[[nodes]]\nname = "n1"\nssh = { host = "127.0.0.1", port = 70000 }\n')
    r = _cli("check", "-c", str(p))
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert "70000" in r.stderr and "1..65535" in r.stderr


def test_read_only_writes_nothing_from_any_command(tmp_path: Path) -> None:
    """`--read-only` on every command and `read_only = true` in the inventory: refusals
    (exit 2) for everything that would change or write, and no state dir appears."""
    state = tmp_path / "state"
    inv = tmp_path / "b.toml"
    inv.write_text(f'[cluster]\nname = "c"\nstate_dir = "{state}"\n'
                   '[[nodes]]\nname = "n1"\n[[members]]\nname = "e1"\nnode = "n1"\n'
                   'client_url = "https://127.0.0.1:1"\npeer_url = "https://127.0.0.1:2"\n'
                   f'data_dir = "{tmp_path}/etcd"\n')
    flagged = inv.read_text().replace('[cluster]\n', '[cluster]\nread_only = true\n')
    inv2 = tmp_path / "ro.toml"
    inv2.write_text(flagged)
    commands = [["snapshot", "save"], ["defrag", "--yes"], ["alarm", "disarm", "--yes"],
                ["restart", "etcd", "--yes"], ["certs", "renew", "--member", "e1"],
                ["rollback", "--yes"], ["resume", "--yes"], ["unlock", "--yes"]]
    for cfg, extra, todo in ((inv, ["--read-only"], commands), (inv2, [], commands[::3])):
        for args in todo:
            r = _cli(*args, "-c", str(cfg), *extra)
            assert r.returncode == 2, (args, r.stdout, r.stderr)
            assert "read-only" in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
        r = _cli("check", "-c", str(cfg), *extra, "--deadline", "1", "--textfile",
                 str(tmp_path / "prom"), timeout=120)
        assert "Traceback" not in r.stderr
        assert not (tmp_path / "prom").exists()
    assert not state.exists()
