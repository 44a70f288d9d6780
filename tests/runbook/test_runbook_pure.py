"""Pure parts of the runbook: no I/O beyond tmp files in the state dir."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from blackstart.checks.model import Member, Retention, Service
from blackstart.runbook import audit, journal, preflight, retention, services
from blackstart.runbook import cert_signing as certs
from blackstart.runbook.plan import Plan, Step, StepIds
from blackstart.runbook.runner import etcd_pids_using

DAY = 86400.0


def test_retention_keeps_newest_hot_and_one_per_cold_day() -> None:
    now = 100 * DAY
    files = [(f"s{i}.db", now - i * DAY / 2) for i in range(80)]  # two a day for 40 days
    pruned = retention.select_prune(files, Retention(keep=3, hot_days=2, cold_days=10), now)
    kept = {n for n, _ in files} - set(pruned)
    assert {"s0.db", "s1.db", "s2.db", "s3.db"} <= kept  # newest and < 2 days
    assert "s79.db" in pruned  # 39.5 days old, past cold_days
    cold = [n for n, m in files if 2 * DAY <= now - m < 10 * DAY]
    assert len([n for n in cold if n in kept]) <= 9  # one per day at most
    assert pruned == sorted(pruned, key=lambda n: -int(n[1:-3]))  # oldest first


def test_retention_keep_protects_old_files() -> None:
    now = 100 * DAY
    files = [("old.db", now - 90 * DAY), ("older.db", now - 95 * DAY)]
    assert retention.select_prune(files, Retention(keep=1, hot_days=1, cold_days=2),
                                  now) == ["older.db"]


def test_snapshot_names() -> None:
    assert retention.is_snapshot_name("a.db")
    assert not retention.is_snapshot_name("a.db.part")
    assert not retention.is_snapshot_name("notes.txt")


def test_df_and_version_parsing() -> None:
    df = ("Filesystem 1-blocks Used Available Capacity Mounted on\n"
          "/dev/sda1 100 40 60 40% /\n")
    assert preflight.parse_df_avail(df) == 60
    assert preflight.parse_df_avail("garbage") is None
    assert preflight.parse_version("etcdutl version: 3.5.1\nAPI version: 3.5") == "3.5.1"
    assert preflight.parse_version("etcdctl version: 3.4.23\nAPI version: 3.4") == "3.4.23"
    assert preflight.parse_version("command not found") is None
    assert preflight.help_has_bump("--bump-revision uint64 ... --mark-compacted")
    assert not preflight.help_has_bump("--skip-hash-check")


def test_bump_amount() -> None:
    assert preflight.bump_amount(100, 100) is None
    assert preflight.bump_amount(None, 100) is None
    assert preflight.bump_amount(100, 600) == 500 + 1000
    assert preflight.bump_amount(0, 100_000) == 100_000 + 10_000


def test_etcd_pids_only_counts_etcd_using_that_dir() -> None:
    out = "\n".join([
        "11 /usr/bin/etcd --name=a --data-dir=/var/lib/etcd",
        "12 /usr/bin/etcd --name b --data-dir /var/lib/etcd2",
        "13 sh -c pgrep -a -f /var/lib/etcd",
        "14 /usr/bin/etcdctl --data-dir=/var/lib/etcd",
        "15 python -m blackstart.lab.crilog --for /var/lib/etcd",
    ])
    assert etcd_pids_using(out, "/var/lib/etcd") == [11]
    assert etcd_pids_using(out, "/var/lib/etcd2") == [12]
    assert etcd_pids_using("", "/x") == []


def test_plan_preview_lists_every_step_per_node_and_roundtrips() -> None:
    ids = StepIds()
    steps = [Step(ids("stop"), "n1", "stop etcd", "run", argv=("systemctl", "stop", "etcd"),
                  undo="start it", undo_op="run", undo_argv=("systemctl", "start", "etcd")),
             Step(ids("aside"), "n2", "move aside", "rename", detail="mv /a -> /a.1",
                  args={"src": "/a", "dst": "/a.1"}, precondition="stopped")]
    p = Plan("id1", "restore", "Restore", "lab", "snap.db", True, steps, ["careful"])
    text = "\n".join(p.preview_lines())
    assert "[n1] stop etcd" in text and "systemctl stop etcd" in text
    assert "[n2] move aside" in text and "mv /a -> /a.1" in text
    assert "WARNING: careful" in text and "requires: stopped" in text
    back = Plan.from_json(json.loads(json.dumps(p.to_json())))
    assert back == p
    assert steps[0].id == "01-stop" and steps[1].id == "02-aside"


def test_journal_roundtrip_and_first_pending(tmp_path: Path) -> None:
    p = Plan("pid", "x", "t", "lab", "tgt", False,
             [Step(f"0{i}", "n", "s", "wait") for i in range(3)])
    j = journal.open_journal(str(tmp_path), p, "alice")
    j.set("00", "ok")
    j.set("01", "running")
    again = journal.load_journal(j.path)
    assert again.first_pending() == 1 and again.operator == "alice"
    assert journal.latest_journal(str(tmp_path), ("running",)).plan.id == "pid"  # type: ignore[union-attr]
    assert journal.latest_journal(str(tmp_path), ("done",)) is None
    (tmp_path / "journal" / "bad.json").write_text("{nope")
    with pytest.raises(journal.JournalError, match="bad.json"):
        journal.load_journal(tmp_path / "journal" / "bad.json")


def test_audit_lines(tmp_path: Path) -> None:
    rec = audit.audit_record(operator="bob", plan_id="p", action="restore", node="n1",
                             step="01-x", op="run", command=["true"], exit_code=0,
                             duration=0.5, output=b"hello", status="ok")
    audit.append(str(tmp_path), rec)
    audit.append(str(tmp_path), rec)
    lines = audit.read_audit(str(tmp_path))
    assert len(lines) == 2
    assert lines[0]["output_sha256"] == (
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
    assert {"time", "operator", "node", "step", "argv", "exit_code", "duration"} <= set(
        lines[0])


def test_operator_name_prefers_sudo_user() -> None:
    assert audit.operator_name({"SUDO_USER": "alice", "USER": "root"}) == "alice"
    assert audit.operator_name({"USER": "bob"}) == "bob"


def _ca() -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "etcd-ca")])
    t = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(t)
            .not_valid_after(t + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def test_renew_keeps_subject_sans_eku_and_makes_a_new_key() -> None:
    ca, ca_key = _ca()
    old_key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "etcd1"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters")])
    sans = x509.SubjectAlternativeName([x509.DNSName("etcd1"), x509.DNSName("localhost")])
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                 ExtendedKeyUsageOID.CLIENT_AUTH])
    t = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    old = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca.subject)
           .public_key(old_key.public_key()).serial_number(5).not_valid_before(t)
           .not_valid_after(t + dt.timedelta(days=365)).add_extension(sans, critical=False)
           .add_extension(eku, critical=False).sign(ca_key, hashes.SHA256()))
    pem = old.public_bytes(serialization.Encoding.PEM)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    assert certs.time_problem(pem, now) == "expired"
    assert certs.time_problem(pem, t.timestamp() - 10) == "not-yet-valid"
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    ca_key_pem = ca_key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
    new_pem, new_key_pem = certs.renew(pem, ca_pem, ca_key_pem, now)
    new = x509.load_pem_x509_certificate(new_pem)
    assert new.subject == subject
    assert new.extensions.get_extension_for_class(x509.SubjectAlternativeName).value == sans
    assert new.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == eku
    assert new.not_valid_after_utc == dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=dt.UTC) \
        or abs((new.not_valid_after_utc.timestamp() - now) - 365 * DAY) < 2
    assert certs.time_problem(new_pem, now) is None
    new.verify_directly_issued_by(ca)
    nk = serialization.load_pem_private_key(new_key_pem, None)
    assert isinstance(nk, ec.EllipticCurvePrivateKey)
    assert nk.public_key().public_numbers() == new.public_key().public_numbers()  # type: ignore[union-attr]
    assert nk.public_key().public_numbers() != old_key.public_key().public_numbers()
    assert not certs.is_ca(new_pem) and certs.is_ca(ca_pem)
    with pytest.raises(certs.CertError):
        certs.renew(b"junk", ca_pem, ca_key_pem, now)


def test_service_steps_for_each_kind() -> None:
    ids = StepIds()
    m = Member("e1", "n1", "https://127.0.0.1:2379", "https://127.0.0.1:2380", "/var/lib/etcd")
    cmd = Service("n1", "etcd", "command", start=("go",), stop=("halt",), member="e1")
    steps = services.restart_steps(cmd, ids, m)
    assert [s.op for s in steps] == ["run", "wait", "run", "wait"]
    assert steps[0].argv == ("halt",) and steps[0].undo_argv == ("go",)
    sysd = Service("n1", "kube-apiserver", "systemd", unit="kube-apiserver.service")
    assert services.restart_steps(sysd, ids)[0].argv == (
        "systemctl", "stop", "kube-apiserver.service")
    pod = Service("n1", "kube-scheduler", "static-pod",
                  manifest="/etc/kubernetes/manifests/kube-scheduler.yaml")
    park, gone, unpark, back = services.restart_steps(pod, ids)
    assert park.args == {"src": "/etc/kubernetes/manifests/kube-scheduler.yaml",
                         "dst": "/etc/kubernetes/blackstart-parked/kube-scheduler.yaml",
                         "undo_starts": True}
    assert unpark.args["src"] == park.args["dst"] and gone.args["kind"] == "process-gone"
    assert back.args["kind"] == "process-back"
    with pytest.raises(services.ServiceError, match="no stop argv"):
        services.stop_steps(Service("n1", "x", "command"), ids)
    with pytest.raises(services.ServiceError, match="unknown kind"):
        services.stop_steps(Service("n1", "x", "upstart"), ids)


def test_runbook_never_imports_textual() -> None:
    code = ("import sys; import blackstart.runbook.planner, blackstart.runbook.executor, "
            "blackstart.runbook.ops; "
            "print('textual' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       check=True, env={**os.environ})
    assert r.stdout.strip() == "False"


def _restore_planner(report: Any = None) -> Any:
    from blackstart.checks.model import Cluster, Node
    from blackstart.runbook.restore_planner import Planner

    ms = tuple(Member(f"e{i}", f"n{i}", f"https://127.0.77.{i}:2379", f"https://127.0.77.{i}:2380",
                      "/var/lib/etcd") for i in (1, 2, 3))
    cl = Cluster("prod", tuple(Node(m.node) for m in ms), ms, state_dir="/nonexistent")
    return Planner(cl, report)


def _source(rev: int, skip: bool) -> Any:
    from blackstart.checks.formats.snapshot_file import SnapshotVerdict
    from blackstart.runbook.restore_source import Source

    return Source("n1", "/b/s.db", "backup", "/b/s.db on n1",
                  SnapshotVerdict("/b/s.db", True, "backup", 1), "ab", 2_000_032, skip, rev)


def test_restore_argv_per_member_with_and_without_the_bump() -> None:
    from blackstart.checks.conclusions import Report, Verdict
    from blackstart.checks.probe_results import RestoreSource
    from blackstart.runbook.restore_revision import plan_bump
    from blackstart.runbook.restore_steps import restore_member_steps

    report = Report("prod", 0, Verdict(0, ""), restore_sources=[  # type: ignore[arg-type]
        RestoreSource("backup", "n1", "/b/s.db", True, 5000, behind_revisions=7000)])
    p = _restore_planner(report)
    new = preflight.RestoreTool(("etcdutl",), "etcdutl", "3.5.12", True)
    old = preflight.RestoreTool(("etcdutl",), "etcdutl", "3.5.1", False)
    n, warn = plan_bump(p, _source(5000, False), {"n1": new, "n2": new, "n3": new})
    assert n == 7000 + 1000 and "7,000" not in "".join(warn) and "8,000" in "".join(warn)
    p.token, p.bump = "prod-x", n
    aside, run = restore_member_steps(p, p.cluster.members[1], new, "/b/s.db", _source(5000, True))
    assert aside.args == {"src": "/var/lib/etcd", "dst": f"/var/lib/etcd.before-restore-{p.ts}"}
    assert run.argv == (
        "etcdutl", "snapshot", "restore", "/b/s.db", "--name", "e2", "--data-dir",
        "/var/lib/etcd", "--initial-cluster", "e1=https://127.0.77.1:2380,"
        "e2=https://127.0.77.2:2380,e3=https://127.0.77.3:2380", "--initial-cluster-token",
        "prod-x", "--initial-advertise-peer-urls", "https://127.0.77.2:2380",
        "--skip-hash-check", "--bump-revision", "8000", "--mark-compacted")
    # one node without the flags: nobody bumps (same N everywhere or none), and it says why
    n, warn = plan_bump(p, _source(5000, False), {"n1": new, "n2": old, "n3": new})
    assert n is None and "3.5.1 on n2" in warn[0] and "watch caches" in warn[0]
    assert "by 7,000 revisions" in warn[0] and "N would be 8,000" in warn[0]


async def test_restore_refuses_members_on_nodes_it_cannot_reach(tmp_path: Path) -> None:
    from blackstart.checks.model import Cluster, Node
    from blackstart.checks.requests import SourceRef
    from blackstart.runbook.planner import PlanRefused
    from blackstart.runbook.restore import plan_restore

    ms = tuple(Member(f"e{i}", f"n{i}", f"https://127.0.77.{i}:2379",
                      f"https://127.0.77.{i}:2380", "/var/lib/etcd") for i in (1, 2, 3))
    nodes = (Node("n1"), Node("n2", has_access=False), Node("n3", has_access=False))
    cl = Cluster("prod", nodes, ms, state_dir=str(tmp_path / "state"))
    with pytest.raises(PlanRefused, match="no access to node.*n2, n3"):
        await plan_restore(cl, None, source=SourceRef("", str(tmp_path / "x.db")))
    assert not (tmp_path / "state" / "restore").exists()  # refused before anything


def test_a_member_db_belongs_to_the_member_on_its_node() -> None:
    """Issue 11 (c): on kubeadm every node uses /var/lib/etcd; the path alone named
    members[0]. The owner is the member on the db's own node."""
    from blackstart.checks.model import Cluster, Node
    from blackstart.runbook.restore_source import member_owning

    ms = tuple(Member(f"etcd{i}", f"master0{i}", f"https://127.0.77.{i}:2379",
                      f"https://127.0.77.{i}:2380", "/var/lib/etcd") for i in (1, 2, 3))
    cl = Cluster("prod", tuple(Node(f"master0{i}") for i in (1, 2, 3)), ms)
    db = "/var/lib/etcd/member/snap/db"
    assert [member_owning(cl, f"master0{i}", db).name for i in (1, 2, 3)] == [  # type: ignore[union-attr]
        "etcd1", "etcd2", "etcd3"]
    assert member_owning(cl, "master09", db) is None
